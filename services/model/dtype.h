// DType: the element types a weight tensor can have, numbered as ggml (and
// so GGUF) numbers them, with each type's block geometry.
#ifndef FM_SERVICES_MODEL_DTYPE_H_
#define FM_SERVICES_MODEL_DTYPE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace fm::model {

enum class DType : int32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,   // 32 weights: fp16 scale, 4-bit quants (value = d * (q - 8))
  kQ4_1 = 3,   // 32 weights: fp16 scale and min, 4-bit quants
  kQ5_0 = 6,   // 32 weights: fp16 scale, 5-bit quants (value = d * (q - 16))
  kQ5_1 = 7,   // 32 weights: fp16 scale and min, 5-bit quants
  kQ8_0 = 8,   // 32 weights: fp16 scale, int8 quants
  kQ2_K = 10,  // 256 weights: 16 sub-blocks with 4-bit scales/mins, 2 bits
  kQ3_K = 11,  // 256 weights: 16 sub-blocks with 6-bit scales, 3 bits
  kQ4_K = 12,  // 256 weights: 8 sub-blocks with 6-bit scales/mins, 4 bits
  kQ5_K = 13,  // 256 weights: 8 sub-blocks with 6-bit scales/mins, 5 bits
  kQ6_K = 14,  // 256 weights: 16 sub-blocks with int8 scales, 6 bits
  kBF16 = 30,
};

// "F32", "Q4_K", ...; "UNKNOWN" for a value outside the enum.
absl::string_view DTypeName(DType dtype);

// The DType of ggml type number `ggml_type`, or false when this service
// does not implement that type.
bool DTypeFromGgml(uint32_t ggml_type, DType* out);

// Elements per block (1 for F32/F16/BF16, 32 or 256) and bytes per block.
int64_t DTypeBlockElements(DType dtype);
int64_t DTypeBlockBytes(DType dtype);

// Bytes that `elements` elements of `dtype` occupy, or 0 when the count is
// not a whole number of blocks or the size overflows.
uint64_t DTypeBytes(DType dtype, uint64_t elements);

// True for the block-quantized types (everything but F32, F16, BF16).
bool IsQuantized(DType dtype);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_DTYPE_H_
