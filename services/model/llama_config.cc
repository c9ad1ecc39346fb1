// LlamaConfig validation: every dimension read from a file is range-checked
// here before any size is computed from it.
#include "services/model/llama_config.h"

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fm::model {
namespace {

absl::Status CheckRange(const char* name, int64_t value, int64_t max) {
  if (value <= 0 || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: ", name, " = ", value, " is outside [1, ", max, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(const char* name, float value, float max) {
  if (!std::isfinite(value) || value <= 0.0f || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: ", name, " = ", value, " must be in (0, ", max, "]"));
  }
  return absl::OkStatus();
}

// The fields by which the architectures differ.
absl::Status ValidateArchitectureFields(const LlamaConfig& c) {
  if (!std::isfinite(c.rope_theta_swa) || c.rope_theta_swa <= 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: rope_theta_swa = ", c.rope_theta_swa,
        " must be positive"));
  }
  for (auto [name, value] : {std::pair<const char*, float>{"rope_scale", c.rope_scale},
                             {"rope_scale_swa", c.rope_scale_swa}}) {
    if (!std::isfinite(value) || value < 1.0f / kMaxRopeScale ||
        value > kMaxRopeScale) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model config: ", name, " = ", value, " is outside [1/",
          kMaxRopeScale, ", ", kMaxRopeScale, "]"));
    }
  }
  if (c.sliding_window < 0 || c.sliding_window > kMaxSeqLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config: sliding_window = ", c.sliding_window,
                     " is outside [0, ", kMaxSeqLen, "]"));
  }
  if (c.sliding_window > 0 &&
      static_cast<int64_t>(c.sliding_layers.size()) != c.n_layers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: sliding_layers has ", c.sliding_layers.size(),
        " entries for ", c.n_layers, " layers"));
  }
  if (auto s = CheckPositive("embedding_scale", c.embedding_scale, 1e6f);
      !s.ok())
    return s;
  if (c.attention_scale != 0.0f) {
    if (auto s = CheckPositive("attention_scale", c.attention_scale, 1e3f);
        !s.ok())
      return s;
  }
  for (auto [name, value] : {std::pair<const char*, float>{"attn_softcap", c.attn_softcap},
                             {"final_softcap", c.final_softcap}}) {
    if (value != 0.0f) {
      if (auto s = CheckPositive(name, value, 1e6f); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

void LlamaConfig::DeriveSizes() {
  // Left 0 when n_heads does not divide dim: Validate() says so.
  if (head_size == 0 && n_heads > 0 && dim % n_heads == 0) {
    head_size = dim / n_heads;
  }
  // In 64 bits: the header values are not validated yet.
  const int64_t kv = static_cast<int64_t>(n_kv_heads) * head_size;
  kv_dim = (n_kv_heads > 0 && kv > 0 && kv <= INT32_MAX)
               ? static_cast<int32_t>(kv)
               : 0;
  const int64_t q = static_cast<int64_t>(n_heads) * head_size;
  q_dim = (n_heads > 0 && q > 0 && q <= INT32_MAX) ? static_cast<int32_t>(q)
                                                   : 0;
  if (rope_dim == 0) rope_dim = head_size;
}

float LlamaConfig::QueryScale() const {
  return attention_scale > 0.0f
             ? attention_scale
             : 1.0f / std::sqrt(static_cast<float>(head_size));
}

absl::Status LlamaConfig::Validate() const {
  if (auto s = CheckRange("dim", dim, kMaxDim); !s.ok()) return s;
  if (auto s = CheckRange("hidden_dim", hidden_dim, kMaxHiddenDim); !s.ok())
    return s;
  if (auto s = CheckRange("n_layers", n_layers, kMaxLayers); !s.ok()) return s;
  if (auto s = CheckRange("n_heads", n_heads, kMaxHeads); !s.ok()) return s;
  if (auto s = CheckRange("n_kv_heads", n_kv_heads, kMaxHeads); !s.ok())
    return s;
  if (auto s = CheckRange("vocab_size", vocab_size, kMaxVocabSize); !s.ok())
    return s;
  if (auto s = CheckRange("seq_len", seq_len, kMaxSeqLen); !s.ok()) return s;
  if (head_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: dim = ", dim, " is not a multiple of n_heads = ",
        n_heads, " and the file gives no head size"));
  }
  if (auto s = CheckRange("head_size", head_size, kMaxDim); !s.ok()) return s;
  if (auto s = CheckRange("q_dim", q_dim, kMaxDim * 4); !s.ok()) return s;
  if (n_heads % n_kv_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config: n_heads = ", n_heads,
                     " is not a multiple of n_kv_heads = ", n_kv_heads));
  }
  if (q_dim != static_cast<int64_t>(n_heads) * head_size ||
      kv_dim != static_cast<int64_t>(n_kv_heads) * head_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config: head_size = ", head_size,
                     " / kv_dim = ", kv_dim, " inconsistent with dim = ", dim,
                     ", n_heads = ", n_heads, ", n_kv_heads = ", n_kv_heads));
  }
  if (rope_dim <= 0 || rope_dim > head_size || rope_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config: rope_dim = ", rope_dim,
                     " must be even and in [2, head_size = ", head_size, "]"));
  }
  if (!std::isfinite(rope_theta) || rope_theta <= 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: rope_theta = ", rope_theta, " must be positive"));
  }
  if (!std::isfinite(rms_eps) || rms_eps <= 0.0f || rms_eps > 1.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model config: rms_eps = ", rms_eps, " must be in (0, 1]"));
  }
  return ValidateArchitectureFields(*this);
}

}  // namespace fm::model
