// Qwen 2 / 2.5 ("qwen2"): biases on q, k and v; Qwen 3 ("qwen3"): no
// biases, an RMSNorm over each head of q and k instead. Both rotate the
// halves of each head (NEOX RoPE).
#include "services/model/architectures.h"

namespace fm::model {

absl::Status ReadQwen2Hparams(GgufHparams*, LlamaConfig* c) {
  c->rope_style = RopeStyle::kHalves;
  c->qkv_bias = true;
  return absl::OkStatus();
}

absl::Status ReadQwen3Hparams(GgufHparams*, LlamaConfig* c) {
  c->rope_style = RopeStyle::kHalves;
  c->qk_norm = true;
  return absl::OkStatus();
}

}  // namespace fm::model
