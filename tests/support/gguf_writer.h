// GgufWriter: builds GGUF v3 (or v2) files in tests: metadata of every kind
// the loaders read (the tokenizer.ggml.* vocabulary included) and tensors
// given as raw bytes; also malformed files on purpose.
#ifndef FM_TESTS_SUPPORT_GGUF_WRITER_H_
#define FM_TESTS_SUPPORT_GGUF_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fm::testing {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3) : version_(version) {}
  virtual ~GgufWriter() = default;

  void AddString(const std::string& key, const std::string& value);
  void AddUint32(const std::string& key, uint32_t value);
  void AddFloat32(const std::string& key, float value);
  void AddBool(const std::string& key, bool value);
  void AddStringArray(const std::string& key,
                      const std::vector<std::string>& values);
  void AddInt32Array(const std::string& key, const std::vector<int32_t>& values);
  void AddFloat32Array(const std::string& key, const std::vector<float>& values);
  // Anything at all after the key (type and value bytes), for malformed
  // files.
  void AddRawValue(const std::string& key, const std::string& type_and_value);
  // A tensor from its bytes (ne[0] innermost; `type` a ggml type number).
  void AddRawTensor(const std::string& name, std::vector<uint64_t> ne,
                    uint32_t type, std::string bytes);

  std::string Serialize() const;
  absl::Status Write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::string bytes;
  };
  uint32_t version_;
  uint64_t n_kv_ = 0;
  std::string kv_;  // serialised metadata
  std::vector<Tensor> tensors_;
};

}  // namespace fm::testing

#endif  // FM_TESTS_SUPPORT_GGUF_WRITER_H_
