// Checkpoint: a loaded model file (mapping, config, weight views) and
// LoadCheckpoint, which detects the format by its magic bytes.
#ifndef FM_SERVICES_MODEL_CHECKPOINT_H_
#define FM_SERVICES_MODEL_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mapped_file.h"
#include "services/model/huge_page_buffer.h"
#include "services/model/llama_config.h"
#include "services/model/weights.h"

namespace fm::model {

struct Checkpoint {
  std::string format;      // "llama2c-v0", "llama2c-v1", "gguf-v2", "gguf-v3"
  std::string file_dtype;  // dtype of the layer matrices in the file
  LlamaConfig config;
  LlamaWeights weights;  // views into `file` or into `owned`
  // Bytes of tensor data in the file that the weights use.
  uint64_t weight_bytes = 0;
  // The file's tensors by stored dtype name.
  std::map<std::string, int32_t> tensor_types;
  std::unique_ptr<MappedFile> file;
  // F16 / BF16 tensors converted to F32 at load time (exact): vectors
  // always, matrices only where the half kernel cannot run them as stored.
  std::vector<std::unique_ptr<float[]>> owned;
  // The interleaved copies of matrices (Tensor::interleaved), made at model
  // load, one after another in one mapping (huge pages are 2 MiB; a
  // matrix can be much smaller).
  HugePageBuffer interleaved;
};

// Opens and maps `path` and parses it as llama2.c (legacy or "ak42" v1) or
// GGUF, chosen by the first bytes of the file, never by its name.
// NOT_FOUND / PERMISSION_DENIED if it cannot be opened; DATA_LOSS for a
// truncated or corrupt file; INVALID_ARGUMENT for impossible header values
// or unsupported contents. The result has passed ValidateWeights.
absl::StatusOr<std::unique_ptr<Checkpoint>> LoadCheckpoint(
    absl::string_view path);

// As LoadCheckpoint, for an already mapped file.
absl::StatusOr<std::unique_ptr<Checkpoint>> LoadCheckpointFromFile(
    std::unique_ptr<MappedFile> file);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_CHECKPOINT_H_
