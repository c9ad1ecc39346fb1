// ggml's Q8_0 (blocks of 32 int8 weights with one fp16 scale): its
// quantizer, the Q8 activations, and the integer matrix-vector /
// matrix-matrix kernels of the 32-weight block types (Q8_0, Q4_0).
#ifndef FM_SERVICES_MODEL_QUANT_H_
#define FM_SERVICES_MODEL_QUANT_H_

#include <cstddef>
#include <cstdint>

#include "common/half.h"
#include "services/model/aligned_vector.h"
#include "services/model/dtype.h"
#include "services/model/quant_blocks.h"

namespace fm::model {

// Whether activations keep SpreadQuads copies unless told otherwise: where
// the AVX2 interleaved kernels run (the AVX-512 VNNI ones read the quants
// as they are, and skipping the copy saves 8 bytes written per input).
bool SpreadByDefault();

// Whether Q8_K activations (kquant_matmul.h) keep offset starts unless
// told otherwise: where the AVX-512 VNNI kernels of Q6_K and Q3_K run.
bool OffsetStartsByDefault();

// Input rows quantized for the int8 kernels (Q8 with f32 scales): row i's
// quants are contiguous, so a SIMD load can span two blocks.
struct Q8Activations {
  int64_t n = 0;
  int64_t cols = 0;        // a multiple of 32
  // 64-byte aligned, so the AVX-512 kernel's 64-byte loads of a block pair
  // never split cache lines.
  AlignedVector<int8_t> qs;  // (n, cols)
  AlignedVector<float> d;    // (n, cols / 32) block scales
  // (n, ceil(cols / 64), 16): the scales of block pairs (2b, 2b + 1), each
  // repeated 8 times, i.e. one 16-lane vector per pair (AVX-512 kernel).
  AlignedVector<float> d_pairs;
  // (n, cols / 32) sum of each block's quants (for Q4_1 / Q5_1's minimum).
  AlignedVector<int16_t> sums;
  // (n, cols * 8): SpreadQuads of each row's quants, for the AVX2
  // interleaved kernels; kept only when with_spread.
  AlignedVector<int8_t> spread;
  bool with_spread = SpreadByDefault();

  // Sizes the buffers for n rows of `cols` (cols % 32 == 0).
  void Resize(int64_t n_rows, int64_t n_cols);
  // Quantizes row i from x (cols floats), as ggml's quantize_row_q8_0
  // with the scale rounded through fp16 (so the products equal ggml's).
  void QuantizeRow(int64_t i, const float* x);
};

// out[8 * k .. 8 * k + 31] = q[k .. k + 3] repeated 8 times, for every
// k = 0, 4, 8, ... < n (n % 4 == 0): the activations as the interleaved
// kernels multiply them, 4 at a time against 8 weight rows
// (interleaved_layout.h).
void SpreadQuads(const int8_t* q, int64_t n, int8_t* out);

// IEEE half <-> float: fm::F16ToF32, fm::F32ToF16 and fm::F16ToF32Row
// (common/half.h), shared with the logits codec.

// Quantizes n floats (n % 32 == 0) into n / 32 blocks, as ggml's
// quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
void QuantizeRowQ8_0(const float* x, BlockQ8_0* out, int64_t n);

// out[i * rows + r] = dot(W[r], X[i]) for r in [row_begin, row_end) and
// i in [0, x.n): W is (rows, x.cols) in Q8_0. Each weight row is read once
// for all inputs, and each (r, i) result is computed the same way whatever
// x.n is. Runtime dispatch: AVX-512 VNNI, else AVX2+FMA+F16C, else scalar.
void MatMulQ8_0(const BlockQ8_0* w, const Q8Activations& x, int64_t rows,
                int64_t row_begin, int64_t row_end, float* out);

// Whether `dtype` (a 32-weight block type) has an integer kernel here:
// Q8_0 always, Q4_0 / Q4_1 / Q5_0 / Q5_1 with AVX2 (else they take the
// dequantizing path).
bool HasBlocks32Kernel(DType dtype);
// MatMulQ8_0's contract for any type with HasBlocks32Kernel(dtype).
void MatMulBlocks32(DType dtype, const void* w, const Q8Activations& x,
                    int64_t rows, int64_t row_begin, int64_t row_end,
                    float* out);

// "avx512vnni", "avx2" or "scalar": the MatMulQ8_0 kernel on this CPU.
const char* Q8KernelName();

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_QUANT_H_
