// Matrix kernel for F16 and BF16 weights kept as the file stores them
// (mapped, half the memory of converting them to F32): each weight row is
// widened to F32 in registers (F16C / a 16-bit shift) and multiplied with
// F32 inputs, for decode batches of up to kMaxKernelRows rows.
#ifndef FM_SERVICES_MODEL_HALF_KERNEL_H_
#define FM_SERVICES_MODEL_HALF_KERNEL_H_

#include <cstdint>

#include "services/model/dtype.h"

namespace fm::model {

// True when this CPU has the kernel (AVX2 + FMA + F16C); otherwise F16 and
// BF16 matrices are converted to F32 at load.
bool HasHalfKernel();

// out[i * rows + r] = dot(W[r], X[i]) for r in [row_begin, row_end), i in
// [0, n): W (rows, cols) of kF16 or kBF16, X (n, cols) F32. Each result is
// summed the same way whatever n is (batched decode is bit-identical).
void MatMulHalfRows(DType dtype, const uint16_t* w, const float* x, int64_t n,
                    int64_t rows, int64_t cols, int64_t row_begin,
                    int64_t row_end, float* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_HALF_KERNEL_H_
