// Integer matrix kernels for ggml's K-quant weights (Q4_K, Q5_K, Q6_K): the
// inputs are quantized once per product to int8 (Q8_K: 256-wide blocks
// with a float scale and the sums of each 16 quants), and each weight
// super-block is multiplied with integer SIMD dot products without being
// expanded to floats, so a decode step streams the weights at memory speed.
#ifndef FM_SERVICES_MODEL_KQUANT_MATMUL_H_
#define FM_SERVICES_MODEL_KQUANT_MATMUL_H_

#include <cstdint>

#include "services/model/aligned_vector.h"
#include "services/model/dtype.h"
#include "services/model/quant.h"

namespace fm::model {

// Input rows quantized for the K-quant kernels, as ggml's block_q8_K:
// per 256 values one float scale d (value = d * q) and the sums of each
// run of 16 quants (for the K types' per-sub-block minimums and offsets).
struct Q8KActivations {
  int64_t n = 0;
  int64_t cols = 0;           // a multiple of 256
  AlignedVector<int8_t> qs;   // (n, cols)
  AlignedVector<float> d;     // (n, cols / 256)
  AlignedVector<int16_t> bsums;    // (n, cols / 16)
  AlignedVector<int16_t> bsums32;  // (n, cols / 32) sums of each 32
  // (n, cols * 8): SpreadQuads of each row's quants, for the AVX2
  // interleaved kernels; kept only when with_spread.
  AlignedVector<int8_t> spread;
  bool with_spread = SpreadByDefault();
  // (n, cols / 16): per 16 quants q[0..15], -32 * (q[0..3] + q[8..11]) in
  // the low and -32 * (q[4..7] + q[12..15]) in the high 32 bits: the sums
  // that the two pair lanes of an AVX-512 VNNI sub-block dot multiply
  // (interleaved_vnni.cc), where the dots of Q6_K's and Q3_K's unsigned
  // quants start to take their offset out; kept only when
  // with_offset_starts.
  AlignedVector<int64_t> offset_starts;
  bool with_offset_starts = OffsetStartsByDefault();

  void Resize(int64_t n_rows, int64_t n_cols);
  // Quantizes row i from x (cols floats): d = amax / 127, q = round(x / d).
  void QuantizeRow(int64_t i, const float* x);
};

// True when this CPU has a K-quant kernel for `dtype` (Q4_K, Q5_K, Q6_K
// with AVX2); otherwise the type takes the dequantizing path.
bool HasKQuantKernel(DType dtype);

// out[i * rows + r] = dot(W[r], X[i]) for r in [row_begin, row_end), i in
// [0, x.n), W (rows, x.cols) of `dtype` with HasKQuantKernel(dtype). Each
// weight row is read once for all inputs, and each result is computed the
// same way whatever x.n is (batched decode is bit-identical to alone).
void MatMulKQuant(DType dtype, const void* w, const Q8KActivations& x,
                  int64_t rows, int64_t row_begin, int64_t row_end,
                  float* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_KQUANT_MATMUL_H_
