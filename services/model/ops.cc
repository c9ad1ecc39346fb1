// Implementations of the forward-pass blocks; the matmul is the only hot
// path (OpenBLAS for F32, our Q8_0 kernel for quantized weights).
#include "services/model/ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "services/model/dequantize.h"
#include "services/model/f32_kernel.h"
#include "services/model/half_kernel.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/kquant_matmul.h"
#include "services/model/vector_math.h"

namespace fm::model {

void RmsNorm(float* o, const float* x, const float* weight, int64_t size,
             float eps) {
  float ss = 0.0f;
  for (int64_t j = 0; j < size; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(size);
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int64_t j = 0; j < size; ++j) o[j] = weight[j] * (ss * x[j]);
}

void Softmax(float* x, int64_t size) {
  float max_val = x[0];
  for (int64_t i = 1; i < size; ++i) {
    if (x[i] > max_val) max_val = x[i];
  }
  for (int64_t i = 0; i < size; ++i) x[i] -= max_val;
  ExpArray(x, x, size);
  float sum = 0.0f;
  for (int64_t i = 0; i < size; ++i) sum += x[i];
  for (int64_t i = 0; i < size; ++i) x[i] /= sum;
}

void RopeTable(int32_t pos, int32_t rope_dim, float theta, float scale,
               const float* factors, float* cos_out, float* sin_out) {
  const float p = static_cast<float>(pos) * scale;
  for (int32_t i = 0; i < rope_dim; i += 2) {
    float freq = 1.0f / std::pow(theta, static_cast<float>(i) /
                                            static_cast<float>(rope_dim));
    if (factors != nullptr) freq /= factors[i / 2];
    const float val = p * freq;
    cos_out[i / 2] = std::cos(val);
    sin_out[i / 2] = std::sin(val);
  }
}

void ApplyRope(float* v, int32_t n_heads, int32_t head_size, int32_t rope_dim,
               RopeStyle style, const float* cos_t, const float* sin_t) {
  const int32_t half = rope_dim / 2;
  for (int32_t h = 0; h < n_heads; ++h) {
    float* vh = v + static_cast<int64_t>(h) * head_size;
    for (int32_t i = 0; i < half; ++i) {
      // The pair rotated by frequency i.
      const int32_t a = style == RopeStyle::kAdjacentPairs ? 2 * i : i;
      const int32_t b = style == RopeStyle::kAdjacentPairs ? 2 * i + 1 : i + half;
      const float fcr = cos_t[i];
      const float fci = sin_t[i];
      const float v0 = vh[a];
      const float v1 = vh[b];
      vh[a] = v0 * fcr - v1 * fci;
      vh[b] = v0 * fci + v1 * fcr;
    }
  }
}

void GatedActivation(FfnActivation act, float* hb, const float* hb2,
                     int64_t size) {
  // In chunks through a small buffer: exp / tanh of a whole chunk at once
  // (vector_math.h).
  constexpr int64_t kChunk = 256;
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  float t[kChunk];
  for (int64_t c = 0; c < size; c += kChunk) {
    const int64_t m = std::min(kChunk, size - c);
    float* h = hb + c;
    const float* h2 = hb2 + c;
    if (act == FfnActivation::kSilu) {
      for (int64_t i = 0; i < m; ++i) t[i] = -h[i];
      ExpArray(t, t, m);
      for (int64_t i = 0; i < m; ++i) {
        float val = h[i];
        val *= (1.0f / (1.0f + t[i]));
        h[i] = val * h2[i];
      }
    } else {
      for (int64_t i = 0; i < m; ++i) {
        const float x = h[i];
        t[i] = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      }
      TanhArray(t, t, m);
      for (int64_t i = 0; i < m; ++i) {
        const float g = 0.5f * h[i] * (1.0f + t[i]);
        h[i] = g * h2[i];
      }
    }
  }
}

void SoftCap(float* x, int64_t size, float cap) {
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < size; ++i) x[i] *= inv;
  TanhArray(x, x, size);
  for (int64_t i = 0; i < size; ++i) x[i] *= cap;
}

namespace {

// Weight rows per dequantized tile: 16 rows of 4096 floats are 256 KiB,
// within L2, so the F32 kernel reads the tile from cache.
constexpr int64_t kDequantTileRows = 16;

// out[i * w.rows + r] for r in [lo, hi): tiles of w's rows dequantized to
// F32, then multiplied by the F32 kernel (the same sums for any batch).
void MatMulDequantized(const Tensor& w, const float* x, int64_t n, int64_t lo,
                       int64_t hi, AlignedVector<float>* rows,
                       AlignedVector<float>* tile_out, float* out) {
  const int64_t cols = w.cols;
  const uint64_t row_bytes = w.row_bytes();
  const auto* base = static_cast<const uint8_t*>(w.data);
  rows->resize(static_cast<size_t>(kDequantTileRows * cols));
  tile_out->resize(static_cast<size_t>(kDequantTileRows * n));
  for (int64_t r0 = lo; r0 < hi; r0 += kDequantTileRows) {
    const int64_t t = std::min(kDequantTileRows, hi - r0);
    for (int64_t j = 0; j < t; ++j) {
      DequantizeRow(w.dtype, base + (r0 + j) * row_bytes,
                    rows->data() + j * cols, cols);
    }
    // tile_out (n, t): input i's products with the tile's rows.
    MatMulF32Rows(rows->data(), x, n, t, cols, 0, t, tile_out->data());
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(out + i * w.rows + r0, tile_out->data() + i * t,
                  sizeof(float) * t);
    }
  }
}

}  // namespace

bool QuantizesActivations(DType dtype) {
  return HasBlocks32Kernel(dtype) || HasKQuantKernel(dtype) ||
         HasInterleavedKernel(dtype);
}

namespace {

// Whether w's product with n inputs takes OpenBLAS's sgemm (F32 at
// prefill size) instead of our kernels.
bool TakesSgemm(const Tensor& w, int64_t n) {
  return w.dtype == DType::kF32 && n > kMaxKernelRows;
}

// out (n, rows) = x (n, cols) . W^T by OpenBLAS sgemm, split by weight rows
// over our pool (OpenBLAS itself runs one thread: its own workers would
// spin against ours on the same cores).
void MatMulSgemm(const Tensor& w, const float* x, int64_t n, float* out,
                 MatMulContext* ctx) {
  ctx->pool->ParallelFor(w.rows, 64, [&](int64_t b, int64_t e, int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, e - b, w.cols, 1.0f,
                x, w.cols, w.f32() + b * w.cols, w.cols, 0.0f, out + b, w.rows);
  });
}

// Quantizes the inputs x (n, cols) once for every kernel of `weights` that
// reads them: 32-blocks for the 32-weight types, 256-blocks for the K
// types (Q2_K / Q3_K have an interleaved kernel only).
void QuantizeInputs(const std::vector<const Tensor*>& weights, const float* x,
                    int64_t n, MatMulContext* ctx) {
  bool any_q8 = false;
  bool any_q8k = false;
  int64_t cols = 0;
  for (const Tensor* w : weights) {
    cols = w->cols;
    const bool k_blocks = DTypeBlockElements(w->dtype) == kQkK;
    any_q8 |=
        HasBlocks32Kernel(w->dtype) || (w->interleaved != nullptr && !k_blocks);
    any_q8k |=
        HasKQuantKernel(w->dtype) || (w->interleaved != nullptr && k_blocks);
  }
  if (any_q8) {
    ctx->x_quant.Resize(n, cols);
    ctx->pool->ParallelFor(n, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) ctx->x_quant.QuantizeRow(i, x + i * cols);
    });
  }
  if (any_q8k) {
    ctx->x_quant_k.Resize(n, cols);
    ctx->pool->ParallelFor(n, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        ctx->x_quant_k.QuantizeRow(i, x + i * cols);
      }
    });
  }
}

// out[i * w.rows + r] for r in [lo, hi) by w's kernel (inputs quantized by
// QuantizeInputs), on pool thread `thread`. Each (row, input) result is
// computed the same way however the rows are chunked.
void MatMulRows(const Tensor& w, const float* x, int64_t n, int64_t lo,
                int64_t hi, int thread, MatMulContext* ctx, float* out) {
  if (w.dtype == DType::kF32) {
    MatMulF32Rows(w.f32(), x, n, w.rows, w.cols, lo, hi, out);
  } else if ((w.dtype == DType::kF16 || w.dtype == DType::kBF16) &&
             n <= kMaxKernelRows && HasHalfKernel()) {
    MatMulHalfRows(w.dtype, static_cast<const uint16_t*>(w.data), x, n, w.rows,
                   w.cols, lo, hi, out);
  } else if (w.interleaved != nullptr) {
    MatMulInterleaved(w.dtype, w.interleaved, ctx->x_quant, ctx->x_quant_k,
                      w.rows, lo, hi, out);
  } else if (HasBlocks32Kernel(w.dtype)) {
    MatMulBlocks32(w.dtype, w.data, ctx->x_quant, w.rows, lo, hi, out);
  } else if (HasKQuantKernel(w.dtype)) {
    MatMulKQuant(w.dtype, w.data, ctx->x_quant_k, w.rows, lo, hi, out);
  } else {
    MatMulDequantized(w, x, n, lo, hi, &ctx->dequant_rows[thread],
                      &ctx->dequant_out[thread], out);
  }
}

void EnsureThreadScratch(MatMulContext* ctx) {
  const size_t n_threads = static_cast<size_t>(ctx->pool->n_threads());
  if (ctx->dequant_rows.size() < n_threads) {
    ctx->dequant_rows.resize(n_threads);
    ctx->dequant_out.resize(n_threads);
  }
}

}  // namespace

void MatMulMulti(std::initializer_list<MatMulTarget> targets, const float* x,
                 int64_t n, MatMulContext* ctx) {
  // Matrices for our kernels, run together in one parallel loop.
  std::vector<const MatMulTarget*> kernel_targets;
  std::vector<const Tensor*> kernel_weights;
  kernel_targets.reserve(targets.size());
  kernel_weights.reserve(targets.size());
  for (const MatMulTarget& t : targets) {
    if (TakesSgemm(*t.w, n)) {
      MatMulSgemm(*t.w, x, n, t.out, ctx);
    } else {
      kernel_targets.push_back(&t);
      kernel_weights.push_back(t.w);
    }
  }
  const int n_kernel = static_cast<int>(kernel_targets.size());
  if (n_kernel == 0) return;
  EnsureThreadScratch(ctx);
  QuantizeInputs(kernel_weights, x, n, ctx);
  // One loop over the concatenated rows of all matrices: a chunk may span
  // two of them.
  int64_t total_rows = 0;
  std::vector<int64_t> first_row(n_kernel);
  for (int k = 0; k < n_kernel; ++k) {
    first_row[k] = total_rows;
    total_rows += kernel_targets[k]->w->rows;
  }
  ctx->pool->ParallelFor(total_rows, 16, [&](int64_t b, int64_t e,
                                              int thread) {
    for (int k = 0; k < n_kernel; ++k) {
      const Tensor& w = *kernel_targets[k]->w;
      const int64_t lo = std::max(b, first_row[k]) - first_row[k];
      const int64_t hi = std::min(e, first_row[k] + w.rows) - first_row[k];
      if (lo < hi)
        MatMulRows(w, x, n, lo, hi, thread, ctx, kernel_targets[k]->out);
    }
  });
}

void MatMul(const Tensor& w, const float* x, int64_t n, float* out,
            MatMulContext* ctx) {
  MatMulMulti({MatMulTarget{&w, out}}, x, n, ctx);
}

void MatMulGated(const Tensor& w_gate, const Tensor& w_up, FfnActivation act,
                 const float* x, int64_t n, float* gate_out, float* up_out,
                 MatMulContext* ctx) {
  const int64_t rows = w_gate.rows;
  if (TakesSgemm(w_gate, n) || TakesSgemm(w_up, n)) {
    // Prefill on F32: sgemm's own blocking, then the activation apart.
    MatMulMulti({{&w_gate, gate_out}, {&w_up, up_out}}, x, n, ctx);
    ctx->pool->ParallelFor(n * rows, 512, [&](int64_t b, int64_t e, int) {
      GatedActivation(act, gate_out + b, up_out + b, e - b);
    });
    return;
  }
  EnsureThreadScratch(ctx);
  QuantizeInputs({&w_gate, &w_up}, x, n, ctx);
  ctx->pool->ParallelFor(rows, 16, [&](int64_t lo, int64_t hi, int thread) {
    MatMulRows(w_gate, x, n, lo, hi, thread, ctx, gate_out);
    MatMulRows(w_up, x, n, lo, hi, thread, ctx, up_out);
    for (int64_t i = 0; i < n; ++i) {
      GatedActivation(act, gate_out + i * rows + lo, up_out + i * rows + lo,
                      hi - lo);
    }
  });
}

void ReadRow(const Tensor& w, int64_t row, float* out) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  DequantizeRow(w.dtype, base + row * w.row_bytes(), out, w.cols);
}

}  // namespace fm::model
