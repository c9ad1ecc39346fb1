// Loader for llama2.c checkpoints: the legacy header (7 int32, negative
// vocab_size = unshared classifier) and the version-1 "ak42" header.
#ifndef FM_SERVICES_MODEL_LLAMA2C_LOADER_H_
#define FM_SERVICES_MODEL_LLAMA2C_LOADER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "services/model/checkpoint.h"

namespace fm::model {

// The version-1 magic: uint32 0x616b3432 ("ak42"), little-endian on disk.
inline constexpr uint32_t kLlama2cMagic = 0x616b3432;

bool HasLlama2cMagic(const uint8_t* data, uint64_t size);

// Fills ckpt->config, weights, format, file_dtype and weight_bytes from
// ckpt->file (which must be set). With the magic it parses the v1 header,
// without it the legacy one. Errors name the header field or tensor.
absl::Status LoadLlama2c(Checkpoint* ckpt);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_LLAMA2C_LOADER_H_
