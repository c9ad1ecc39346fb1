// The neural-net blocks of the forward pass, as in llama2.c run.c: rmsnorm,
// softmax, RoPE (adjacent pairs), SwiGLU and the dtype-dispatching matmul.
#ifndef FM_SERVICES_MODEL_OPS_H_
#define FM_SERVICES_MODEL_OPS_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "services/model/kquant_matmul.h"
#include "services/model/quant.h"
#include "services/model/thread_pool.h"
#include "services/model/weights.h"

namespace fm::model {

// o = weight * (x / rms(x)), rms(x) = sqrt(mean(x^2) + eps). o may alias x.
void RmsNorm(float* o, const float* x, const float* weight, int64_t size,
             float eps);

// In-place softmax over x[0..size).
void Softmax(float* x, int64_t size);

// cos/sin of (pos * scale) * theta^(-2i/rope_dim) / factors[i] for i in
// [0, rope_dim/2): llama2.c's freq = 1 / powf(theta, head_dim /
// (float)head_size), with linear position scaling and Llama 3's
// per-frequency divisors (`factors` null: all 1).
void RopeTable(int32_t pos, int32_t rope_dim, float theta, float scale,
               const float* factors, float* cos_out, float* sin_out);

// Rotates the first rope_dim entries of each of n_heads heads of size
// head_size: pairs (2i, 2i+1) as llama2.c's RoPE, or (i, i + rope_dim/2).
void ApplyRope(float* v, int32_t n_heads, int32_t head_size, int32_t rope_dim,
               RopeStyle style, const float* cos_t, const float* sin_t);

// hb[i] = act(hb[i]) * hb2[i]: silu(x) = x / (1 + exp(-x)) (SwiGLU) or
// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GeGLU).
void GatedActivation(FfnActivation act, float* hb, const float* hb2,
                     int64_t size);

// x[i] = cap * tanh(x[i] / cap) (Gemma 2's logit soft-capping).
void SoftCap(float* x, int64_t size, float cap);

// Scratch and threads for MatMul; one per compute thread.
struct MatMulContext {
  ThreadPool* pool = nullptr;  // never null when MatMul is called
  Q8Activations x_quant;       // (n, cols) inputs for Q8_0 / Q4_0
  Q8KActivations x_quant_k;    // (n, cols) inputs for the K types
  // Per pool thread: weight rows dequantized to F32 and their products,
  // for the block types without an integer kernel of their own.
  std::vector<AlignedVector<float>> dequant_rows;
  std::vector<AlignedVector<float>> dequant_out;
};

// Up to this many rows (decode steps of a batch), F32 uses our batched
// kernel (MatMulF32Rows); above it (prefill), OpenBLAS sgemm. Measured with
// OpenBLAS 0.3.21 here (2048x768 matrices, one thread): sgemm streams the
// weights at only 7-10 GB/s for 1..16 rows, where sgemv and our kernel
// reach ~20-30 GB/s, so sgemm would cap a batch of 8 decode steps at
// ~2.5x a single one. The kernel also makes each row's result independent of
// the batch, so batched decode gives bit-identical logits.
inline constexpr int64_t kMaxKernelRows = 16;

// out (n, w.rows) = x (n, w.cols) · w^T, i.e. llama2.c's matmul for each of
// the n rows, weight rows split across the pool. F32: MatMulF32Rows for
// n <= kMaxKernelRows, else single-threaded cblas_sgemm per slice of rows
// (weights stream once per call either way). Q8_0: x is quantized to Q8
// and multiplied by the int8 kernel; F16 / BF16 rows are widened in
// registers (half_kernel.h, up to kMaxKernelRows rows); Q4_0 likewise, and Q4_K / Q5_K / Q6_K
// with inputs quantized to Q8_K (kquant_matmul.h). Other block types (and
// all of them on a CPU without AVX2): tiles of weight rows
// are dequantized to F32 (DequantizeRow, exact) and multiplied by the F32
// kernel. `w` must have passed ValidateWeights.
void MatMul(const Tensor& w, const float* x, int64_t n, float* out,
            MatMulContext* ctx);

// Whether a model multiplies `dtype` weights by quantized activations
// (rounding each input to 1/254 of its block's largest magnitude, as ggml
// does) on this CPU: Q8_0, and with AVX2 every integer type (Q2_K and Q3_K
// once re-laid: HasInterleavedKernel). The others multiply dequantized
// weights by F32 inputs.
bool QuantizesActivations(DType dtype);

// One matrix of a MatMulMulti: out (n, w->rows) = x · w^T.
struct MatMulTarget {
  const Tensor* w;  // never null
  float* out;       // never null
};

// Several matrices with the same input x (n, cols), e.g. wq/wk/wv or
// w1/w3: the same results as separate MatMul calls, but one parallel loop
// over all their rows (fewer thread hand-offs per layer) and, for Q8_0, one
// quantization of x. All targets have the same cols.
void MatMulMulti(std::initializer_list<MatMulTarget> targets, const float* x,
                 int64_t n, MatMulContext* ctx);

// The FFN's gate and up products, gate_out (n, rows) = act(x · w_gate^T) *
// (x · w_up^T) and up_out = x · w_up^T (scratch), as MatMulMulti and then
// GatedActivation compute them, but in one parallel loop whose chunks take
// the same rows of both matrices and apply the activation while the
// products are in cache: one hand-off between threads and one pass over
// the outputs fewer per layer. w_gate and w_up have the same shape.
void MatMulGated(const Tensor& w_gate, const Tensor& w_up, FfnActivation act,
                 const float* x, int64_t n, float* gate_out, float* up_out,
                 MatMulContext* ctx);

// Copies row `row` of `w` (any DType) into out (w.cols floats).
void ReadRow(const Tensor& w, int64_t row, float* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_OPS_H_
