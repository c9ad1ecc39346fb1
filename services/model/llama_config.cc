// LlamaConfig validation: every dimension read from a file is range-checked
// here before any size is computed from it.
#include "services/model/llama_config.h"

#include <cmath>
#include <cstdint>

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

}  // namespace

void LlamaConfig::DeriveSizes() {
  if (n_heads > 0) head_size = dim / n_heads;
  // In 64 bits: the header values are not validated yet.
  const int64_t kv = static_cast<int64_t>(n_kv_heads) * head_size;
  kv_dim = (n_kv_heads > 0 && kv <= INT32_MAX) ? static_cast<int32_t>(kv) : 0;
  if (rope_dim == 0) rope_dim = head_size;
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
  if (dim % n_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config: dim = ", dim,
                     " is not a multiple of n_heads = ", n_heads));
  }
  if (n_heads % n_kv_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model config: n_heads = ", n_heads,
                     " is not a multiple of n_kv_heads = ", n_kv_heads));
  }
  if (head_size != dim / n_heads || kv_dim != n_kv_heads * head_size) {
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
  return absl::OkStatus();
}

}  // namespace fm::model
