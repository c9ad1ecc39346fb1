// The multi-architecture test oracle: a plain scalar forward pass in the
// manner of llama2.c run.c's forward(), one token at a time, over an
// ArchModel's F32 weights (llama, qwen2, qwen3, gemma2, gemma3), with dot
// products and other sums accumulated in double.
//
// Per token: x = embedding row (gemma: * sqrt(dim)); per layer
//   xb = RMSNorm(x, attn_norm); q, k, v = W.xb (+ bias: qwen2);
//   per-head RMSNorm of q and k (qwen3, gemma3); RoPE (llama: adjacent
//   pairs, the others NEOX halves; rope_freqs divide the frequencies, linear
//   scaling divides the position; gemma3 local layers: base rope_theta_swa,
//   no scaling); causal attention, within sliding_window on sliding layers,
//   scores / sqrt(head_size) (gemma2: soft-capped); o = Wo.out
//   (gemma: RMSNorm(o, post_attn_norm)); x += o;
//   xb = RMSNorm(x, ffn_norm); y = Wdown.(act(Wgate.xb) * Wup.xb), act silu
//   (llama, qwen) or tanh-gelu (gemma) (gemma: RMSNorm(y, post_ffw_norm));
//   x += y;
// then logits = classifier . RMSNorm(x, output_norm) (gemma2: soft-capped).
// The optional tensors (biases, q/k norms, post norms, rope_freqs) are
// applied when present in the model; the architecture decides the rest
// (embedding scale, RoPE pairing, activation, sliding layers, soft-caps).
#ifndef FM_TESTS_MODEL_ARCH_REFERENCE_FORWARD_H_
#define FM_TESTS_MODEL_ARCH_REFERENCE_FORWARD_H_

#include <vector>

#include "tests/model/arch_model.h"

namespace fm::model::testing {

class ArchReference {
 public:
  // Keeps its own copy of `m` (so a temporary such as QuantizedCopy(...)
  // may be passed).
  explicit ArchReference(const ArchModel& m);

  // Runs `token` at position `pos` and returns the logits (vocab_size).
  // The KV cache lives inside: positions must be fed 0, 1, 2, ... (going
  // back to an earlier position, e.g. 0 for a new sequence, is allowed;
  // skipping one is not). pos < context_length.
  std::vector<float> Forward(int token, int pos);

 private:
  const ArchModel m_;
  int next_pos_ = 0;
  std::vector<float> x_, xb_, q_, att_out_, o_, hb_, hb2_, logits_;
  std::vector<double> att_;         // (context_length) one head's scores
  std::vector<float> key_cache_;    // (layer, context_length, kv_dim)
  std::vector<float> value_cache_;  // (layer, context_length, kv_dim)
};

}  // namespace fm::model::testing

#endif  // FM_TESTS_MODEL_ARCH_REFERENCE_FORWARD_H_
