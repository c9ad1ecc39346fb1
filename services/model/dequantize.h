// Dequantization of one row of any supported DType to F32, exactly as the
// format defines it (ggml's dequantize_row_*: the same float operations in
// the same order, so the values are bit-identical).
#ifndef FM_SERVICES_MODEL_DEQUANTIZE_H_
#define FM_SERVICES_MODEL_DEQUANTIZE_H_

#include <cstdint>

#include "services/model/dtype.h"

namespace fm::model {

// out[0, n) = the n elements starting at `data` (n a whole number of
// blocks of `dtype`; `data` points at a block boundary).
void DequantizeRow(DType dtype, const void* data, float* out, int64_t n);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_DEQUANTIZE_H_
