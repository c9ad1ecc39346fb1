// A batched F32 matrix-vector kernel for decode batches (1..16 rows): each
// weight row is read once for all rows, at memory speed (OpenBLAS sgemm is
// not), one row after the other so the weights stream sequentially.
#ifndef FM_SERVICES_MODEL_F32_KERNEL_H_
#define FM_SERVICES_MODEL_F32_KERNEL_H_

#include <cstdint>

namespace fm::model {

// out[i * rows + r] = dot(W[r], X[i]) for r in [row_begin, row_end), i in
// [0, n). W is (rows, cols), X is (n, cols), both row-major F32.
// Every dot product is summed in the same order whatever n is, so a row's
// result does not depend on what else is in the batch (bit-exact).
// AVX-512F, else AVX2+FMA, else scalar, by runtime dispatch (the sum
// order, hence the last bits, depends on which one the CPU runs).
void MatMulF32Rows(const float* w, const float* x, int64_t n, int64_t rows,
                   int64_t cols, int64_t row_begin, int64_t row_end,
                   float* out);

// dot(a, b) over n floats, for attention scores (q . k per position).
float DotF32(const float* a, const float* b, int64_t n);

// y[i] += alpha * x[i] for i in [0, n), for attention's weighted sum of
// values.
void AxpyF32(float alpha, const float* x, float* y, int64_t n);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_F32_KERNEL_H_
