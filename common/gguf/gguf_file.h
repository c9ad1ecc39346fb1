// GGUF v2/v3: the header, metadata and tensor table of a ggml file, parsed
// with llama.cpp's bounds-checking discipline (every count, length and
// offset checked in 64 bits against the bytes left). Shared by fm-model
// (tensors) and fm-tokenizer (the tokenizer.ggml.* vocabulary), so one GGUF
// serves both. Tensor data is not interpreted here: the types and sizes of
// ggml's tensor formats are the model's business.
#ifndef FM_COMMON_GGUF_GGUF_FILE_H_
#define FM_COMMON_GGUF_GGUF_FILE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian

// Limits on what a header may declare (llama.cpp's own are similar).
inline constexpr uint64_t kMaxTensors = 1 << 16;
inline constexpr uint64_t kMaxKeys = 1 << 16;
inline constexpr uint64_t kMaxStringLength = 1 << 24;
inline constexpr uint32_t kMaxDims = 4;

enum ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// One metadata value. Scalars fill the matching field (integers both `u`
// and `i`, clamped where they do not fit); strings fill `str`; arrays
// record element type and length, and their elements when the parse was
// asked to keep arrays: strings in `strings`, integers in `ints`, floats in
// `floats`.
struct Value {
  uint32_t type = 0;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0.0;
  std::string str;
  uint32_t array_type = 0;
  uint64_t array_len = 0;
  std::vector<std::string> strings;
  std::vector<int64_t> ints;
  std::vector<float> floats;
};

struct TensorEntry {
  std::string name;
  std::vector<uint64_t> ne;  // ne[0] = contiguous (innermost) dimension
  uint32_t ggml_type = 0;
  uint64_t offset = 0;  // relative to the data section
};

struct File {
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // absolute offset of the data section
  std::map<std::string, Value> kv;
  std::vector<TensorEntry> tensors;

  // Null when absent.
  const Value* Find(absl::string_view key) const;
  const TensorEntry* FindTensor(absl::string_view name) const;
};

struct ParseOptions {
  // Keep array elements (the tokenizer's vocabulary); otherwise arrays are
  // checked and skipped.
  bool keep_arrays = false;
  // Arrays of at most this many elements are kept even without
  // keep_arrays (per-layer hyperparameters), longer ones skipped.
  uint64_t keep_arrays_up_to = 0;
};

// True when `data` starts like a GGUF file.
bool LooksLikeGguf(absl::string_view data);

// Parses `size` bytes at `data`. DATA_LOSS for truncation (naming the
// field), INVALID_ARGUMENT for a bad magic, version, count, type or shape.
absl::StatusOr<File> Parse(const uint8_t* data, uint64_t size,
                           const ParseOptions& options = {});

}  // namespace fm::gguf

#endif  // FM_COMMON_GGUF_GGUF_FILE_H_
