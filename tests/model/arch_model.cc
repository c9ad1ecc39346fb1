// Random tiny models of each architecture, their GGUF files (llama.cpp's
// names and shapes) and the weights a quantized file really holds.
#include "tests/model/arch_model.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fm::model::testing {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "arch_model: %s\n", message.c_str());
  std::abort();
}

void Fill(std::mt19937& rng, std::vector<float>* v, size_t n, float center,
          float spread) {
  std::uniform_real_distribution<float> dist(-spread, spread);
  v->resize(n);
  for (size_t i = 0; i < n; ++i) (*v)[i] = center + dist(rng);
}

void CheckConfig(const ArchConfig& c) {
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 ||
      c.n_kv_heads <= 0 || c.vocab_size <= 0 || c.context_length <= 0) {
    Fail("sizes must be positive");
  }
  if (c.n_heads % c.n_kv_heads != 0) Fail("n_heads % n_kv_heads != 0");
  if (c.head_size == 0 && c.dim % c.n_heads != 0) Fail("dim % n_heads != 0");
  const int32_t hs = c.head_size > 0 ? c.head_size : c.dim / c.n_heads;
  if (hs % 2 != 0) Fail("head_size must be even (RoPE pairs)");
}

// Calls fn(name, ne, tensor) for every present tensor of `m` in file order,
// with llama.cpp's GGUF name and shape (ne[0] innermost = row length);
// `tensor` is `m`'s std::vector<float>, const when `m` is.
template <typename Model, typename Fn>
void ForEachTensor(Model& m, Fn&& fn) {
  const ArchConfig& c = m.config;
  const uint64_t dim = c.dim, hidden = c.hidden_dim, vocab = c.vocab_size;
  const uint64_t hs = m.head_size(), q_dim = m.q_dim(), kv_dim = m.kv_dim();
  auto visit = [&fn](const std::string& name, std::vector<uint64_t> ne,
                     auto& tensor) {
    if (tensor.empty()) return;
    uint64_t n = 1;
    for (uint64_t d : ne) n *= d;
    if (tensor.size() != n) {
      Fail(absl::StrCat(name, " holds ", tensor.size(), " values, its shape ",
                        n));
    }
    fn(name, std::move(ne), tensor);
  };
  if (m.layers.size() != static_cast<size_t>(c.n_layers)) {
    Fail("layers.size() != n_layers");
  }
  visit("token_embd.weight", {dim, vocab}, m.token_embedding);
  visit("output_norm.weight", {dim}, m.output_norm);
  visit("output.weight", {dim, vocab}, m.output);
  visit("rope_freqs.weight", {hs / 2}, m.rope_freqs);
  for (size_t l = 0; l < m.layers.size(); ++l) {
    auto& layer = m.layers[l];
    const std::string p = absl::StrCat("blk.", l, ".");
    visit(p + "attn_norm.weight", {dim}, layer.attn_norm);
    visit(p + "attn_q.weight", {dim, q_dim}, layer.wq);
    visit(p + "attn_k.weight", {dim, kv_dim}, layer.wk);
    visit(p + "attn_v.weight", {dim, kv_dim}, layer.wv);
    visit(p + "attn_q.bias", {q_dim}, layer.bq);
    visit(p + "attn_k.bias", {kv_dim}, layer.bk);
    visit(p + "attn_v.bias", {kv_dim}, layer.bv);
    visit(p + "attn_q_norm.weight", {hs}, layer.q_norm);
    visit(p + "attn_k_norm.weight", {hs}, layer.k_norm);
    visit(p + "attn_output.weight", {q_dim, dim}, layer.wo);
    visit(p + "post_attention_norm.weight", {dim}, layer.post_attn_norm);
    visit(p + "ffn_norm.weight", {dim}, layer.ffn_norm);
    visit(p + "ffn_gate.weight", {dim, hidden}, layer.w_gate);
    visit(p + "ffn_up.weight", {dim, hidden}, layer.w_up);
    visit(p + "ffn_down.weight", {hidden, dim}, layer.w_down);
    visit(p + "post_ffw_norm.weight", {dim}, layer.post_ffw_norm);
  }
}

// Norms, biases and rope_freqs: the 1-D tensors.
bool IsVectorTensor(const std::string& name) {
  return absl::EndsWith(name, "norm.weight") || absl::EndsWith(name, ".bias") ||
         name == "rope_freqs.weight";
}

GgmlType FitOrF32(GgmlType type, uint64_t cols) {
  return cols % static_cast<uint64_t>(BlockElements(type)) == 0
             ? type
             : GgmlType::kF32;
}

GgmlType PlannedType(const TypePlan& plan, const std::string& name,
                     uint64_t cols) {
  const GgmlType type = plan(name, cols);
  if (cols % static_cast<uint64_t>(BlockElements(type)) != 0) {
    Fail(absl::StrCat("plan gives ", name, " (", cols, " columns) type ",
                      static_cast<uint32_t>(type),
                      " whose block does not divide its rows"));
  }
  return type;
}

}  // namespace

const char* ArchName(Arch a) {
  switch (a) {
    case Arch::kLlama:
      return "llama";
    case Arch::kQwen2:
      return "qwen2";
    case Arch::kQwen3:
      return "qwen3";
    case Arch::kGemma2:
      return "gemma2";
    case Arch::kGemma3:
      return "gemma3";
  }
  return "?";
}

int32_t ArchModel::head_size() const {
  return config.head_size > 0 ? config.head_size : config.dim / config.n_heads;
}

int32_t ArchModel::q_dim() const { return config.n_heads * head_size(); }

int32_t ArchModel::kv_dim() const { return config.n_kv_heads * head_size(); }

bool ArchModel::LayerIsSliding(int32_t l) const {
  if (config.sliding_window <= 0) return false;
  switch (config.arch) {
    case Arch::kLlama:  // Mistral-style: every layer
      return true;
    case Arch::kGemma2:  // llama.cpp's swa pattern 2: local, global, ...
      return l % 2 == 0;
    case Arch::kGemma3:  // swa pattern 6: five local, then one global
      return l % 6 < 5;
    case Arch::kQwen2:
    case Arch::kQwen3:
      return false;
  }
  return false;
}

const std::vector<float>& ArchModel::classifier() const {
  return output.empty() ? token_embedding : output;
}

ArchModel MakeRandomArchModel(const ArchConfig& c, uint32_t seed) {
  CheckConfig(c);
  std::mt19937 rng(seed);
  ArchModel m;
  m.config = c;
  const size_t dim = c.dim, hidden = c.hidden_dim, vocab = c.vocab_size;
  const size_t hs = m.head_size(), q_dim = m.q_dim(), kv_dim = m.kv_dim();
  const float a_dim = 1.0f / std::sqrt(static_cast<float>(dim));
  const float a_q = 1.0f / std::sqrt(static_cast<float>(q_dim));
  const float a_hidden = 1.0f / std::sqrt(static_cast<float>(hidden));
  const bool qkv_bias = c.arch == Arch::kQwen2;
  const bool qk_norm = c.arch == Arch::kQwen3 || c.arch == Arch::kGemma3;
  const bool post_norms = c.arch == Arch::kGemma2 || c.arch == Arch::kGemma3;

  Fill(rng, &m.token_embedding, vocab * dim, 0.0f, 1.0f);
  Fill(rng, &m.output_norm, dim, 1.0f, 0.2f);
  if (!c.tied_embeddings) Fill(rng, &m.output, vocab * dim, 0.0f, a_dim);
  if (c.rope_freq_factors) Fill(rng, &m.rope_freqs, hs / 2, 4.5f, 3.5f);
  m.layers.resize(c.n_layers);
  for (ArchLayer& layer : m.layers) {
    Fill(rng, &layer.attn_norm, dim, 1.0f, 0.2f);
    Fill(rng, &layer.wq, q_dim * dim, 0.0f, a_dim);
    Fill(rng, &layer.wk, kv_dim * dim, 0.0f, a_dim);
    Fill(rng, &layer.wv, kv_dim * dim, 0.0f, a_dim);
    if (qkv_bias) {
      Fill(rng, &layer.bq, q_dim, 0.0f, 0.1f);
      Fill(rng, &layer.bk, kv_dim, 0.0f, 0.1f);
      Fill(rng, &layer.bv, kv_dim, 0.0f, 0.1f);
    }
    if (qk_norm) {
      Fill(rng, &layer.q_norm, hs, 1.0f, 0.2f);
      Fill(rng, &layer.k_norm, hs, 1.0f, 0.2f);
    }
    Fill(rng, &layer.wo, dim * q_dim, 0.0f, a_q);
    if (post_norms) Fill(rng, &layer.post_attn_norm, dim, 1.0f, 0.2f);
    Fill(rng, &layer.ffn_norm, dim, 1.0f, 0.2f);
    Fill(rng, &layer.w_gate, hidden * dim, 0.0f, a_dim);
    Fill(rng, &layer.w_up, hidden * dim, 0.0f, a_dim);
    Fill(rng, &layer.w_down, dim * hidden, 0.0f, a_hidden);
    if (post_norms) Fill(rng, &layer.post_ffw_norm, dim, 1.0f, 0.2f);
  }
  return m;
}

TypePlan UniformPlan(GgmlType matrix_type) {
  return [matrix_type](const std::string& name, uint64_t cols) {
    if (IsVectorTensor(name)) return GgmlType::kF32;
    return FitOrF32(matrix_type, cols);
  };
}

TypePlan KQuantMixPlan(GgmlType main_type) {
  return [main_type](const std::string& name, uint64_t cols) {
    if (IsVectorTensor(name)) return GgmlType::kF32;
    const bool more_bits = absl::EndsWith(name, ".attn_v.weight") ||
                           absl::EndsWith(name, ".ffn_down.weight") ||
                           name == "output.weight" ||
                           name == "token_embd.weight";
    return FitOrF32(more_bits ? GgmlType::kQ6_K : main_type, cols);
  };
}

GgufWriter MakeArchGguf(const ArchModel& m, const TypePlan& plan) {
  const ArchConfig& c = m.config;
  CheckConfig(c);
  const std::string a = ArchName(c.arch);
  GgufWriter w;
  w.AddString("general.architecture", a);
  w.AddString("general.name", "tiny-random-" + a);
  w.AddUint32(a + ".context_length", c.context_length);
  w.AddUint32(a + ".embedding_length", c.dim);
  w.AddUint32(a + ".block_count", c.n_layers);
  w.AddUint32(a + ".feed_forward_length", c.hidden_dim);
  w.AddUint32(a + ".attention.head_count", c.n_heads);
  w.AddUint32(a + ".attention.head_count_kv", c.n_kv_heads);
  w.AddFloat32(a + ".rope.freq_base", c.rope_theta);
  w.AddFloat32(a + ".attention.layer_norm_rms_epsilon", c.rms_eps);
  if (c.arch == Arch::kLlama) {
    w.AddUint32(a + ".rope.dimension_count", m.head_size());
  }
  if (c.head_size > 0) {
    w.AddUint32(a + ".attention.key_length", c.head_size);
    w.AddUint32(a + ".attention.value_length", c.head_size);
  }
  if (c.rope_linear_factor > 0.0f) {
    w.AddString(a + ".rope.scaling.type", "linear");
    w.AddFloat32(a + ".rope.scaling.factor", c.rope_linear_factor);
  }
  if (c.sliding_window > 0) {
    w.AddUint32(a + ".attention.sliding_window", c.sliding_window);
  }
  if (c.attn_softcap > 0.0f) {
    w.AddFloat32(a + ".attn_logit_softcapping", c.attn_softcap);
  }
  if (c.final_softcap > 0.0f) {
    w.AddFloat32(a + ".final_logit_softcapping", c.final_softcap);
  }
  ForEachTensor(m, [&](const std::string& name, std::vector<uint64_t> ne,
                       const std::vector<float>& tensor) {
    const GgmlType type = PlannedType(plan, name, ne[0]);
    w.AddTensor(name, std::move(ne), type, tensor.data());
  });
  return w;
}

ArchModel QuantizedCopy(const ArchModel& m, const TypePlan& plan) {
  ArchModel q = m;
  ForEachTensor(q, [&](const std::string& name, std::vector<uint64_t> ne,
                       std::vector<float>& tensor) {
    const GgmlType type = PlannedType(plan, name, ne[0]);
    if (type == GgmlType::kF32) return;
    tensor =
        RoundTrip(type, tensor.data(), static_cast<int64_t>(tensor.size()));
  });
  return q;
}

}  // namespace fm::model::testing
