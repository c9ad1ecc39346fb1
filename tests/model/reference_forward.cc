// llama2.c's forward pass, kept deliberately naive (no BLAS, no batching,
// double-free of cleverness) so that it can judge the library's version.
#include "tests/model/reference_forward.h"

#include <cmath>
#include <cstring>

namespace fm::model::testing {
namespace {

void rmsnorm(float* o, const float* x, const float* weight, int size,
             float eps) {
  float ss = 0.0f;
  for (int j = 0; j < size; j++) ss += x[j] * x[j];
  ss /= size;
  ss += eps;
  ss = 1.0f / sqrtf(ss);
  for (int j = 0; j < size; j++) o[j] = weight[j] * (ss * x[j]);
}

void softmax(float* x, int size) {
  float max_val = x[0];
  for (int i = 1; i < size; i++) {
    if (x[i] > max_val) max_val = x[i];
  }
  float sum = 0.0f;
  for (int i = 0; i < size; i++) {
    x[i] = expf(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < size; i++) x[i] /= sum;
}

// W (d,n) @ x (n,) -> xout (d,)
void matmul(float* xout, const float* x, const float* w, int n, int d) {
  for (int i = 0; i < d; i++) {
    float val = 0.0f;
    for (int j = 0; j < n; j++) val += w[i * n + j] * x[j];
    xout[i] = val;
  }
}

}  // namespace

ReferenceTransformer::ReferenceTransformer(const TinyModel& m) : m_(m) {
  const TinyConfig& p = m.config;
  const int kv_dim = m.kv_dim();
  x_.resize(p.dim);
  xb_.resize(p.dim);
  xb2_.resize(p.dim);
  hb_.resize(p.hidden_dim);
  hb2_.resize(p.hidden_dim);
  q_.resize(p.dim);
  att_.resize(static_cast<size_t>(p.n_heads) * p.seq_len);
  logits_.resize(p.vocab_size);
  key_cache_.resize(static_cast<size_t>(p.n_layers) * p.seq_len * kv_dim);
  value_cache_.resize(static_cast<size_t>(p.n_layers) * p.seq_len * kv_dim);
}

std::vector<float> ReferenceTransformer::Forward(int token, int pos) {
  const TinyConfig& p = m_.config;
  float* x = x_.data();
  const int dim = p.dim;
  const int kv_dim = m_.kv_dim();
  const int kv_mul = p.n_heads / p.n_kv_heads;
  const int hidden_dim = p.hidden_dim;
  const int head_size = dim / p.n_heads;

  std::memcpy(x, m_.token_embedding.data() + token * dim, dim * sizeof(float));

  for (int l = 0; l < p.n_layers; l++) {
    rmsnorm(xb_.data(), x, m_.rms_att.data() + l * dim, dim, p.rms_eps);

    const int loff = l * p.seq_len * kv_dim;
    float* k = key_cache_.data() + loff + pos * kv_dim;
    float* v = value_cache_.data() + loff + pos * kv_dim;

    matmul(q_.data(), xb_.data(), m_.wq.data() + l * dim * dim, dim, dim);
    matmul(k, xb_.data(), m_.wk.data() + l * dim * kv_dim, dim, kv_dim);
    matmul(v, xb_.data(), m_.wv.data() + l * dim * kv_dim, dim, kv_dim);

    // RoPE on the first rope_dim dimensions of every head (llama.cpp's
    // n_rot), all of them in llama2.c.
    const int rope_dim = p.rope_dim > 0 ? p.rope_dim : head_size;
    for (int i = 0; i < dim; i += 2) {
      const int head_dim = i % head_size;
      if (head_dim >= rope_dim) continue;
      const float freq =
          1.0f / powf(p.rope_theta, head_dim / static_cast<float>(rope_dim));
      const float val = pos * freq;
      const float fcr = cosf(val);
      const float fci = sinf(val);
      const int rotn = i < kv_dim ? 2 : 1;
      for (int vi = 0; vi < rotn; vi++) {
        float* vec = vi == 0 ? q_.data() : k;
        const float v0 = vec[i];
        const float v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
      }
    }

    for (int h = 0; h < p.n_heads; h++) {
      const float* q = q_.data() + h * head_size;
      float* att = att_.data() + h * p.seq_len;
      for (int t = 0; t <= pos; t++) {
        const float* kt =
            key_cache_.data() + loff + t * kv_dim + (h / kv_mul) * head_size;
        float score = 0.0f;
        for (int i = 0; i < head_size; i++) score += q[i] * kt[i];
        score /= sqrtf(head_size);
        att[t] = score;
      }
      softmax(att, pos + 1);
      float* xb = xb_.data() + h * head_size;
      std::memset(xb, 0, head_size * sizeof(float));
      for (int t = 0; t <= pos; t++) {
        const float* vt =
            value_cache_.data() + loff + t * kv_dim + (h / kv_mul) * head_size;
        const float a = att[t];
        for (int i = 0; i < head_size; i++) xb[i] += a * vt[i];
      }
    }

    matmul(xb2_.data(), xb_.data(), m_.wo.data() + l * dim * dim, dim, dim);
    for (int i = 0; i < dim; i++) x[i] += xb2_[i];

    rmsnorm(xb_.data(), x, m_.rms_ffn.data() + l * dim, dim, p.rms_eps);
    matmul(hb_.data(), xb_.data(), m_.w1.data() + l * dim * hidden_dim, dim,
           hidden_dim);
    matmul(hb2_.data(), xb_.data(), m_.w3.data() + l * dim * hidden_dim, dim,
           hidden_dim);
    for (int i = 0; i < hidden_dim; i++) {
      float val = hb_[i];
      val *= (1.0f / (1.0f + expf(-val)));
      val *= hb2_[i];
      hb_[i] = val;
    }
    matmul(xb_.data(), hb_.data(), m_.w2.data() + l * dim * hidden_dim,
           hidden_dim, dim);
    for (int i = 0; i < dim; i++) x[i] += xb_[i];
  }

  rmsnorm(x, x, m_.rms_final.data(), dim, p.rms_eps);
  matmul(logits_.data(), x, m_.classifier().data(), dim, p.vocab_size);
  return logits_;
}

}  // namespace fm::model::testing
