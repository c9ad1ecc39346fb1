// Implementations of the forward-pass blocks; the matmul is the only hot
// path (OpenBLAS for F32, our Q8_0 kernel for quantized weights).
#include "services/model/ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "services/model/f32_kernel.h"

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
  float sum = 0.0f;
  for (int64_t i = 0; i < size; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int64_t i = 0; i < size; ++i) x[i] /= sum;
}

void RopeTable(int32_t pos, int32_t rope_dim, float theta, float* cos_out,
               float* sin_out) {
  for (int32_t i = 0; i < rope_dim; i += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(i) /
                                                  static_cast<float>(rope_dim));
    const float val = static_cast<float>(pos) * freq;
    cos_out[i / 2] = std::cos(val);
    sin_out[i / 2] = std::sin(val);
  }
}

void ApplyRope(float* v, int32_t n_heads, int32_t head_size, int32_t rope_dim,
               const float* cos_t, const float* sin_t) {
  for (int32_t h = 0; h < n_heads; ++h) {
    float* vh = v + static_cast<int64_t>(h) * head_size;
    for (int32_t i = 0; i < rope_dim; i += 2) {
      const float fcr = cos_t[i / 2];
      const float fci = sin_t[i / 2];
      const float v0 = vh[i];
      const float v1 = vh[i + 1];
      vh[i] = v0 * fcr - v1 * fci;
      vh[i + 1] = v0 * fci + v1 * fcr;
    }
  }
}

void SwiGlu(float* hb, const float* hb2, int64_t size) {
  for (int64_t i = 0; i < size; ++i) {
    float val = hb[i];
    val *= (1.0f / (1.0f + std::exp(-val)));
    hb[i] = val * hb2[i];
  }
}

void MatMulMulti(std::initializer_list<MatMulTarget> targets, const float* x,
                 int64_t n, MatMulContext* ctx) {
  // Matrices for our kernels, run together in one parallel loop.
  std::vector<const MatMulTarget*> kernel_targets;
  kernel_targets.reserve(targets.size());
  bool any_q8 = false;
  int64_t cols = 0;
  for (const MatMulTarget& t : targets) {
    const Tensor& w = *t.w;
    cols = w.cols;
    if (w.dtype == DType::kF32 && n > kMaxKernelRows) {
      // Prefill-sized: OpenBLAS sgemm, out (n, rows) = x (n, cols) . W^T,
      // split by weight rows over our pool (OpenBLAS itself runs one
      // thread: its own workers would spin against ours on the same cores).
      float* out = t.out;
      ctx->pool->ParallelFor(w.rows, 64, [&](int64_t b, int64_t e, int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, e - b, w.cols,
                    1.0f, x, w.cols, w.f32() + b * w.cols, w.cols, 0.0f,
                    out + b, w.rows);
      });
      continue;
    }
    any_q8 |= w.dtype == DType::kQ8_0;
    kernel_targets.push_back(&t);
  }
  const int n_kernel = static_cast<int>(kernel_targets.size());
  if (n_kernel == 0) return;
  // Q8_0: quantize the inputs once for all the matrices that share them.
  if (any_q8) {
    ctx->x_quant.Resize(n, cols);
    ctx->pool->ParallelFor(n, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) ctx->x_quant.QuantizeRow(i, x + i * cols);
    });
  }
  // One loop over the concatenated rows of all matrices: a chunk may span
  // two of them. Each (row, input) result is computed the same way however
  // the rows are chunked.
  int64_t total_rows = 0;
  std::vector<int64_t> first_row(n_kernel);
  for (int k = 0; k < n_kernel; ++k) {
    first_row[k] = total_rows;
    total_rows += kernel_targets[k]->w->rows;
  }
  ctx->pool->ParallelFor(total_rows, 16, [&](int64_t b, int64_t e, int) {
    for (int k = 0; k < n_kernel; ++k) {
      const Tensor& w = *kernel_targets[k]->w;
      const int64_t lo = std::max(b, first_row[k]) - first_row[k];
      const int64_t hi = std::min(e, first_row[k] + w.rows) - first_row[k];
      if (lo >= hi) continue;
      float* out = kernel_targets[k]->out;
      if (w.dtype == DType::kF32) {
        MatMulF32Rows(w.f32(), x, n, w.rows, w.cols, lo, hi, out);
      } else {
        MatMulQ8_0(static_cast<const BlockQ8_0*>(w.data), ctx->x_quant, w.rows,
                   lo, hi, out);
      }
    }
  });
}

void MatMul(const Tensor& w, const float* x, int64_t n, float* out,
            MatMulContext* ctx) {
  MatMulMulti({MatMulTarget{&w, out}}, x, n, ctx);
}

void ReadRow(const Tensor& w, int64_t row, float* out) {
  if (w.dtype == DType::kF32) {
    std::memcpy(out, w.f32() + row * w.cols, sizeof(float) * w.cols);
  } else {
    const auto* blocks = static_cast<const BlockQ8_0*>(w.data);
    DequantizeRowQ8_0(blocks + row * (w.cols / kQ8BlockSize), out, w.cols);
  }
}

}  // namespace fm::model
