// The shared hyperparameters and the table of architectures.
#include "services/model/architectures.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace fm::model {
namespace {

struct Architecture {
  const char* name;
  absl::Status (*read)(GgufHparams*, LlamaConfig*);
};

constexpr Architecture kArchitectures[] = {
    {"llama", ReadLlamaHparams},   {"qwen2", ReadQwen2Hparams},
    {"qwen3", ReadQwen3Hparams},   {"gemma2", ReadGemma2Hparams},
    {"gemma3", ReadGemma3Hparams},
};

// One value for every layer: per-layer arrays (some writers store head
// counts that way) must be uniform, which is all this forward supports.
absl::Status UniformPerLayer(GgufHparams* h, const std::string& suffix,
                             int32_t n_layers, int64_t max, int32_t* out) {
  std::vector<int32_t> values;
  FM_RETURN_IF_ERROR(h->IntOrArray(suffix, n_layers, 1, max, &values));
  if (values.empty()) return absl::OkStatus();
  for (int32_t v : values) {
    if (v != values[0]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF metadata '", h->arch(), ".", suffix,
          "' differs between layers, which is not implemented"));
    }
  }
  *out = values[0];
  return absl::OkStatus();
}

}  // namespace

std::string SupportedArchitectures() {
  std::vector<std::string> names;
  for (const Architecture& a : kArchitectures) names.push_back(a.name);
  return absl::StrJoin(names, ", ");
}

absl::Status ReadArchitecture(const std::string& arch, GgufHparams* h,
                              LlamaConfig* c) {
  for (const Architecture& a : kArchitectures) {
    if (arch != a.name) continue;
    c->architecture = arch;
    FM_RETURN_IF_ERROR(ReadCommonHparams(h, c));
    FM_RETURN_IF_ERROR(a.read(h, c));
    FM_RETURN_IF_ERROR(h->CheckAllRead());
    c->DeriveSizes();
    if (absl::Status s = c->Validate(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF ", arch, " metadata: ", s.message()));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("GGUF architecture '", arch, "' is not supported (",
                   SupportedArchitectures(), ")"));
}

absl::Status ReadCommonHparams(GgufHparams* h, LlamaConfig* c) {
  FM_RETURN_IF_ERROR(h->Int("embedding_length", true, 1, kMaxDim, &c->dim));
  FM_RETURN_IF_ERROR(h->Int("block_count", true, 1, kMaxLayers, &c->n_layers));
  FM_RETURN_IF_ERROR(UniformPerLayer(h, "feed_forward_length", c->n_layers,
                                     kMaxHiddenDim, &c->hidden_dim));
  if (c->hidden_dim == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", h->arch(), ".feed_forward_length' is missing"));
  }
  FM_RETURN_IF_ERROR(UniformPerLayer(h, "attention.head_count", c->n_layers,
                                     kMaxHeads, &c->n_heads));
  if (c->n_heads == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", h->arch(), ".attention.head_count' is missing"));
  }
  c->n_kv_heads = c->n_heads;
  FM_RETURN_IF_ERROR(UniformPerLayer(h, "attention.head_count_kv",
                                     c->n_layers, kMaxHeads, &c->n_kv_heads));
  FM_RETURN_IF_ERROR(
      h->Int("context_length", true, 1, kMaxSeqLen, &c->seq_len));
  // Head size: key_length when given (Gemma, Qwen 3), else dim / n_heads.
  c->head_size = 0;
  FM_RETURN_IF_ERROR(
      h->Int("attention.key_length", false, 1, kMaxDim, &c->head_size));
  int32_t value_length = c->head_size;
  FM_RETURN_IF_ERROR(
      h->Int("attention.value_length", false, 1, kMaxDim, &value_length));
  if (value_length != c->head_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", h->arch(), ".attention.value_length' = ",
        value_length, " differs from key_length = ", c->head_size,
        ", which is not implemented"));
  }
  c->rope_dim = 0;
  FM_RETURN_IF_ERROR(
      h->Int("rope.dimension_count", false, 2, kMaxDim, &c->rope_dim));
  c->rope_theta = 10000.0f;
  FM_RETURN_IF_ERROR(
      h->Float("rope.freq_base", false, 1e-3f, 1e12f, &c->rope_theta));
  c->rms_eps = 1e-5f;
  FM_RETURN_IF_ERROR(h->Float("attention.layer_norm_rms_epsilon", false,
                              1e-12f, 1.0f, &c->rms_eps));
  int32_t declared_vocab = c->vocab_size;
  FM_RETURN_IF_ERROR(
      h->Int("vocab_size", false, 1, kMaxVocabSize, &declared_vocab));
  if (declared_vocab != c->vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", h->arch(), ".vocab_size' = ", declared_vocab,
        " does not match token_embd.weight's ", c->vocab_size, " rows"));
  }
  // RoPE scaling: none or linear; YaRN and the others change the rotation
  // in ways this forward does not implement, so they are refused.
  std::string scaling = "none";
  FM_RETURN_IF_ERROR(h->String("rope.scaling.type", false, &scaling));
  float factor = 1.0f;
  FM_RETURN_IF_ERROR(h->Float("rope.scaling.factor", false, 1.0f / kMaxRopeScale,
                              kMaxRopeScale, &factor));
  if (scaling == "linear") {
    c->rope_scale = 1.0f / factor;
  } else if (scaling != "none") {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", h->arch(), ".rope.scaling.type' = '", scaling,
        "' is not implemented (none, linear)"));
  } else if (h->Has("rope.scaling.factor") && factor != 1.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", h->arch(), ".rope.scaling.factor' = ", factor,
        " without rope.scaling.type = linear"));
  }
  // Informational without YaRN: the training context and fine-tune flag.
  h->Ignore("rope.scaling.original_context_length");
  h->Ignore("rope.scaling.finetuned");
  // Mixture-of-experts counts are accepted only when they say "none".
  for (const char* moe : {"expert_count", "expert_used_count"}) {
    int32_t experts = 0;
    FM_RETURN_IF_ERROR(h->Int(moe, false, 0, 0, &experts));
  }
  c->rope_theta_swa = c->rope_theta;
  c->rope_scale_swa = c->rope_scale;
  return absl::OkStatus();
}

absl::Status ReadSlidingLayers(GgufHparams* h, int32_t default_pattern,
                               LlamaConfig* c) {
  std::vector<int32_t> pattern;
  FM_RETURN_IF_ERROR(h->IntOrArray("attention.sliding_window_pattern",
                                   c->n_layers, 0, kMaxLayers, &pattern));
  c->sliding_layers.assign(c->n_layers, 0);
  if (pattern.size() == static_cast<size_t>(c->n_layers) &&
      c->n_layers > 1) {
    for (int32_t l = 0; l < c->n_layers; ++l) {
      c->sliding_layers[l] = pattern[l] != 0 ? 1 : 0;
    }
    return absl::OkStatus();
  }
  const int32_t period = pattern.empty() ? default_pattern : pattern[0];
  for (int32_t l = 0; l < c->n_layers; ++l) {
    c->sliding_layers[l] = (period == 0 || l % period < period - 1) ? 1 : 0;
  }
  return absl::OkStatus();
}

}  // namespace fm::model
