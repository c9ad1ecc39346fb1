// The multi-architecture forward pass, kept deliberately naive (no BLAS, no
// batching, straightforward loops, sums in double) so that it can judge the
// service's version.
#include "tests/model/arch_reference_forward.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace fm::model::testing {
namespace {

[[noreturn]] void Fail(const char* message, int value) {
  std::fprintf(stderr, "ArchReference: %s (%d)\n", message, value);
  std::abort();
}

// o = weight * x / sqrt(mean(x^2) + eps); o may be x.
void RmsNorm(float* o, const float* x, const float* weight, int size,
             float eps) {
  double ss = 0.0;
  for (int j = 0; j < size; j++) ss += static_cast<double>(x[j]) * x[j];
  const double scale = 1.0 / std::sqrt(ss / size + eps);
  for (int j = 0; j < size; j++) {
    o[j] = static_cast<float>(weight[j] * (scale * x[j]));
  }
}

// W (rows, cols) row-major @ x (cols,) -> out (rows,)
void MatMul(float* out, const float* w, const float* x, int rows, int cols) {
  for (int i = 0; i < rows; i++) {
    double val = 0.0;
    for (int j = 0; j < cols; j++) {
      val += static_cast<double>(w[static_cast<size_t>(i) * cols + j]) * x[j];
    }
    out[i] = static_cast<float>(val);
  }
}

void AddBias(float* v, const std::vector<float>& bias) {
  for (size_t i = 0; i < bias.size(); i++) v[i] += bias[i];
}

// cap * tanh(s / cap): gemma2's soft-capping.
double SoftCap(double s, double cap) { return cap * std::tanh(s / cap); }

// RoPE on one head of `head_size` values at (scaled) position p: pair i
// turns by p * base^(-2i/head_size) / factors[i]. The pairs are
// (2i, 2i + 1) for llama, (i, i + head_size/2) for NEOX (qwen2, qwen3,
// gemma2, gemma3).
void Rope(float* v, int head_size, double p, double base,
          const std::vector<float>& factors, bool neox) {
  const int half = head_size / 2;
  for (int i = 0; i < half; i++) {
    double freq = std::pow(base, -2.0 * i / head_size);
    if (!factors.empty()) freq /= factors[i];  // Llama 3 rope_freqs
    const double angle = p * freq;
    const double fcr = std::cos(angle);
    const double fci = std::sin(angle);
    const int i0 = neox ? i : 2 * i;
    const int i1 = neox ? i + half : 2 * i + 1;
    const double v0 = v[i0];
    const double v1 = v[i1];
    v[i0] = static_cast<float>(v0 * fcr - v1 * fci);
    v[i1] = static_cast<float>(v0 * fci + v1 * fcr);
  }
}

double Silu(double z) { return z / (1.0 + std::exp(-z)); }

double GeluTanh(double z) {
  const double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
  return 0.5 * z * (1.0 + std::tanh(kSqrt2OverPi * (z + 0.044715 * z * z * z)));
}

}  // namespace

ArchReference::ArchReference(const ArchModel& m) : m_(m) {
  const ArchConfig& c = m_.config;
  if (m_.layers.size() != static_cast<size_t>(c.n_layers)) {
    Fail("layers.size() != n_layers", static_cast<int>(m_.layers.size()));
  }
  if (c.n_heads % c.n_kv_heads != 0) Fail("n_heads % n_kv_heads", c.n_heads);
  const size_t ctx = c.context_length, kv_dim = m_.kv_dim();
  x_.resize(c.dim);
  xb_.resize(c.dim);
  q_.resize(m_.q_dim());
  att_out_.resize(m_.q_dim());
  o_.resize(c.dim);
  hb_.resize(c.hidden_dim);
  hb2_.resize(c.hidden_dim);
  logits_.resize(c.vocab_size);
  att_.resize(ctx);
  key_cache_.resize(static_cast<size_t>(c.n_layers) * ctx * kv_dim);
  value_cache_.resize(static_cast<size_t>(c.n_layers) * ctx * kv_dim);
}

std::vector<float> ArchReference::Forward(int token, int pos) {
  const ArchConfig& c = m_.config;
  if (token < 0 || token >= c.vocab_size) Fail("token out of range", token);
  if (pos < 0 || pos >= c.context_length) Fail("pos out of range", pos);
  if (pos > next_pos_) Fail("positions must be fed in order; got", pos);
  next_pos_ = pos + 1;

  const Arch arch = c.arch;
  const bool gemma = arch == Arch::kGemma2 || arch == Arch::kGemma3;
  const bool neox = arch != Arch::kLlama;
  const int dim = c.dim;
  const int hidden_dim = c.hidden_dim;
  const int head_size = m_.head_size();
  const int q_dim = m_.q_dim();
  const int kv_dim = m_.kv_dim();
  const int kv_mul = c.n_heads / c.n_kv_heads;
  const int ctx = c.context_length;
  const float eps = c.rms_eps;
  float* x = x_.data();
  float* xb = xb_.data();

  // 1. The token's embedding row; gemma2/gemma3 scale it by sqrt(dim).
  const double embed_scale = gemma ? std::sqrt(static_cast<double>(dim)) : 1.0;
  for (int i = 0; i < dim; i++) {
    x[i] = static_cast<float>(
        m_.token_embedding[static_cast<size_t>(token) * dim + i] * embed_scale);
  }

  for (int l = 0; l < c.n_layers; l++) {
    const ArchLayer& layer = m_.layers[l];
    // f. Whether this layer attends to a sliding window only.
    const bool sliding = m_.LayerIsSliding(l);

    // a. Attention norm (gemma's 1 + w is already in the stored weight).
    RmsNorm(xb, x, layer.attn_norm.data(), dim, eps);

    // b. q, k, v; k and v go straight into the cache at pos. qwen2 adds
    // biases.
    const size_t loff = static_cast<size_t>(l) * ctx * kv_dim;
    float* k = key_cache_.data() + loff + static_cast<size_t>(pos) * kv_dim;
    float* v = value_cache_.data() + loff + static_cast<size_t>(pos) * kv_dim;
    MatMul(q_.data(), layer.wq.data(), xb, q_dim, dim);
    MatMul(k, layer.wk.data(), xb, kv_dim, dim);
    MatMul(v, layer.wv.data(), xb, kv_dim, dim);
    AddBias(q_.data(), layer.bq);  // qwen2 (empty elsewhere)
    AddBias(k, layer.bk);
    AddBias(v, layer.bv);

    // c. qwen3/gemma3: every head of q and of k RMS-normed on its own.
    if (!layer.q_norm.empty()) {
      for (int h = 0; h < c.n_heads; h++) {
        float* qh = q_.data() + h * head_size;
        RmsNorm(qh, qh, layer.q_norm.data(), head_size, eps);
      }
    }
    if (!layer.k_norm.empty()) {
      for (int h = 0; h < c.n_kv_heads; h++) {
        float* kh = k + h * head_size;
        RmsNorm(kh, kh, layer.k_norm.data(), head_size, eps);
      }
    }

    // d. RoPE over all head_size dims of every q and k head. gemma3's
    // local (sliding) layers: base rope_theta_swa and no linear scaling;
    // everywhere else base rope_theta, position / rope_linear_factor.
    double base = c.rope_theta;
    double p = pos;
    if (arch == Arch::kGemma3 && sliding) {
      base = c.rope_theta_swa;
    } else if (c.rope_linear_factor > 0.0f) {
      p = pos / static_cast<double>(c.rope_linear_factor);
    }
    for (int h = 0; h < c.n_heads; h++) {
      Rope(q_.data() + h * head_size, head_size, p, base, m_.rope_freqs, neox);
    }
    for (int h = 0; h < c.n_kv_heads; h++) {
      Rope(k + h * head_size, head_size, p, base, m_.rope_freqs, neox);
    }

    // e. Causal attention per query head over the visible positions: all
    // t <= pos, or only pos - t < sliding_window on sliding layers.
    const int t0 = sliding ? std::max(0, pos - c.sliding_window + 1) : 0;
    const double inv_sqrt_hs = 1.0 / std::sqrt(static_cast<double>(head_size));
    for (int h = 0; h < c.n_heads; h++) {
      const float* q = q_.data() + h * head_size;
      const size_t kv_off = static_cast<size_t>(h / kv_mul) * head_size;
      double max_score = -INFINITY;
      for (int t = t0; t <= pos; t++) {
        const float* kt =
            key_cache_.data() + loff + static_cast<size_t>(t) * kv_dim + kv_off;
        double score = 0.0;
        for (int i = 0; i < head_size; i++) {
          score += static_cast<double>(q[i]) * kt[i];
        }
        score *= inv_sqrt_hs;
        if (arch == Arch::kGemma2 && c.attn_softcap > 0.0f) {
          score = SoftCap(score, c.attn_softcap);  // gemma2
        }
        att_[t] = score;
        max_score = std::max(max_score, score);
      }
      double sum = 0.0;
      for (int t = t0; t <= pos; t++) {
        att_[t] = std::exp(att_[t] - max_score);
        sum += att_[t];
      }
      float* out = att_out_.data() + h * head_size;
      for (int i = 0; i < head_size; i++) {
        double val = 0.0;
        for (int t = t0; t <= pos; t++) {
          const float* vt = value_cache_.data() + loff +
                            static_cast<size_t>(t) * kv_dim + kv_off;
          val += att_[t] / sum * vt[i];
        }
        out[i] = static_cast<float>(val);
      }
    }

    // g. Output projection; gemma2/gemma3 norm it before the residual add.
    MatMul(o_.data(), layer.wo.data(), att_out_.data(), dim, q_dim);
    if (!layer.post_attn_norm.empty()) {
      RmsNorm(o_.data(), o_.data(), layer.post_attn_norm.data(), dim, eps);
    }
    for (int i = 0; i < dim; i++) x[i] += o_[i];

    // h. Gated FFN: silu for llama/qwen, tanh-approximated gelu for gemma;
    // gemma2/gemma3 norm the result before the residual add.
    RmsNorm(xb, x, layer.ffn_norm.data(), dim, eps);
    MatMul(hb_.data(), layer.w_gate.data(), xb, hidden_dim, dim);
    MatMul(hb2_.data(), layer.w_up.data(), xb, hidden_dim, dim);
    for (int i = 0; i < hidden_dim; i++) {
      const double g = hb_[i];
      const double act = gemma ? GeluTanh(g) : Silu(g);
      hb_[i] = static_cast<float>(act * hb2_[i]);
    }
    MatMul(o_.data(), layer.w_down.data(), hb_.data(), dim, hidden_dim);
    if (!layer.post_ffw_norm.empty()) {
      RmsNorm(o_.data(), o_.data(), layer.post_ffw_norm.data(), dim, eps);
    }
    for (int i = 0; i < dim; i++) x[i] += o_[i];
  }

  // 3. Final norm and classifier (output.weight, or the tied embedding);
  // gemma2 soft-caps the logits.
  RmsNorm(xb, x, m_.output_norm.data(), dim, eps);
  MatMul(logits_.data(), m_.classifier().data(), xb, c.vocab_size, dim);
  if (arch == Arch::kGemma2 && c.final_softcap > 0.0f) {
    for (float& logit : logits_) {
      logit = static_cast<float>(SoftCap(logit, c.final_softcap));
    }
  }
  return logits_;
}

}  // namespace fm::model::testing
