// Loader for GGUF v2/v3 files with the "llama" architecture and F32, F16
// or Q8_0 tensors; also exposes the parsed file for tools and tests.
#ifndef FM_SERVICES_MODEL_GGUF_LOADER_H_
#define FM_SERVICES_MODEL_GGUF_LOADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/model/checkpoint.h"

namespace fm::model {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian

// Limits on counts read from a GGUF header (llama.cpp's own are similar).
inline constexpr uint64_t kGgufMaxTensors = 1 << 16;
inline constexpr uint64_t kGgufMaxKeys = 1 << 16;
inline constexpr uint64_t kGgufMaxStringLength = 1 << 24;
inline constexpr uint32_t kGgufMaxDims = 4;

enum GgufType : uint32_t {
  kGgufUint8 = 0,
  kGgufInt8 = 1,
  kGgufUint16 = 2,
  kGgufInt16 = 3,
  kGgufUint32 = 4,
  kGgufInt32 = 5,
  kGgufFloat32 = 6,
  kGgufBool = 7,
  kGgufString = 8,
  kGgufArray = 9,
  kGgufUint64 = 10,
  kGgufInt64 = 11,
  kGgufFloat64 = 12,
};

// One metadata value. Scalars fill the matching field; strings fill `str`;
// arrays record element type and length (and strings of a string array
// are kept in `strings` only when keep_string_arrays was asked for).
struct GgufValue {
  uint32_t type = 0;
  uint64_t u = 0;  // unsigned integers and bool
  int64_t i = 0;   // signed integers
  double f = 0.0;  // floats
  std::string str;
  uint32_t array_type = 0;
  uint64_t array_len = 0;
  std::vector<std::string> strings;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // ne[0] = contiguous (innermost) dimension
  DType dtype = DType::kF32;
  uint64_t offset = 0;  // relative to the data section
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
};

struct GgufFile {
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // absolute offset of the data section
  std::map<std::string, GgufValue> kv;
  std::vector<GgufTensorInfo> tensors;

  const GgufTensorInfo* FindTensor(const std::string& name) const;
};

// Parses the header, metadata and tensor table of `data` and checks that
// every tensor lies inside the file. DATA_LOSS for truncation (naming the
// field), INVALID_ARGUMENT for bad magic/version/counts/types/shapes.
absl::StatusOr<GgufFile> ParseGguf(const uint8_t* data, uint64_t size,
                                   bool keep_string_arrays = false);

// Fills ckpt from ckpt->file: llama.* keys into the config, tensors into
// weight views (F16 converted into ckpt->owned).
absl::Status LoadGguf(Checkpoint* ckpt);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_GGUF_LOADER_H_
