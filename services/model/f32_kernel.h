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

// Attention over one head: the rows are positions 0 .. n_pos - 1 of a
// key or value cache with `stride` floats between positions.
// scores[t] = scale * dot(q, keys + t * stride), head_size floats each.
void AttentionScores(const float* q, const float* keys, int64_t stride,
                     int64_t n_pos, int64_t head_size, float scale,
                     float* scores);
// out[i] = sum over t of weights[t] * values[t * stride + i], i < head_size.
void AttentionMix(const float* weights, const float* values, int64_t stride,
                  int64_t n_pos, int64_t head_size, float* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_F32_KERNEL_H_
