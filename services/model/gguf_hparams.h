// GgufHparams: typed, validated reads of an architecture's "<arch>.*" GGUF
// metadata, remembering which keys were read so that a key the service
// does not implement is refused instead of silently ignored.
#ifndef FM_SERVICES_MODEL_GGUF_HPARAMS_H_
#define FM_SERVICES_MODEL_GGUF_HPARAMS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/gguf/gguf_file.h"

namespace fm::model {

class GgufHparams {
 public:
  // Keys are "<arch>.<suffix>"; `kv` must outlive this object.
  GgufHparams(const std::map<std::string, gguf::Value>& kv, std::string arch);

  const std::string& arch() const { return arch_; }
  bool Has(const std::string& suffix) const;

  // An integer key in [min, max] into *out. Absent: OK (out unchanged)
  // unless `required`. INVALID_ARGUMENT naming the key, its type or value
  // and the range otherwise.
  absl::Status Int(const std::string& suffix, bool required, int64_t min,
                   int64_t max, int32_t* out);
  // A finite float key in [min, max] (integers accepted).
  absl::Status Float(const std::string& suffix, bool required, float min,
                     float max, float* out);
  absl::Status String(const std::string& suffix, bool required,
                      std::string* out);
  absl::Status Bool(const std::string& suffix, bool* out);
  // An integer or an array of integers/bools with one entry per layer (the
  // per-layer form GGUF writers use for patterns and head counts).
  absl::Status IntOrArray(const std::string& suffix, int32_t n_layers,
                          int64_t min, int64_t max, std::vector<int32_t>* out);

  // Accepts a key without using it, when it cannot change the computation
  // (e.g. original_context_length without YaRN).
  void Ignore(const std::string& suffix) { read_.insert(suffix); }

  // INVALID_ARGUMENT naming the first "<arch>.*" key never read: the file
  // asks for something this service does not implement.
  absl::Status CheckAllRead() const;

 private:
  const gguf::Value* Find(const std::string& suffix);
  std::string Key(const std::string& suffix) const { return arch_ + "." + suffix; }

  const std::map<std::string, gguf::Value>& kv_;
  std::string arch_;
  std::set<std::string> read_;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_GGUF_HPARAMS_H_
