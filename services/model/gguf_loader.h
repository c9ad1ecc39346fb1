// Loader for GGUF v2/v3 files of the Llama family (architectures.h) with
// tensors of any DType; also exposes the parsed file for tools and tests.
#ifndef FM_SERVICES_MODEL_GGUF_LOADER_H_
#define FM_SERVICES_MODEL_GGUF_LOADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/gguf/gguf_file.h"
#include "services/model/checkpoint.h"

namespace fm::model {

// A tensor of the file as the model uses it: its ggml type mapped to a
// DType, its bytes checked to lie inside the file.
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
  uint64_t data_offset = 0;  // absolute offset of the data section
  std::map<std::string, gguf::Value> kv;
  std::vector<GgufTensorInfo> tensors;

  const GgufTensorInfo* FindTensor(const std::string& name) const;
};

// Parses `data` (gguf::Parse) and maps every tensor: a ggml type the model
// runs (dtype.h), its byte size, and its bytes inside the file.
// DATA_LOSS for truncation (naming the field), INVALID_ARGUMENT for bad
// magic/version/counts/types/shapes.
absl::StatusOr<GgufFile> ParseGguf(const uint8_t* data, uint64_t size);

// Fills ckpt from ckpt->file: the architecture's keys into the config,
// tensors into weight views (F16/BF16 vectors, and matrices the half
// kernel cannot run as stored, converted into ckpt->owned).
absl::Status LoadGguf(Checkpoint* ckpt);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_GGUF_LOADER_H_
