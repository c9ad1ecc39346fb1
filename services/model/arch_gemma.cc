// Gemma 2 and 3: embeddings scaled by sqrt(dim), GeGLU, RMSNorm before and
// after attention and FFN, sliding-window layers between global ones, NEOX
// RoPE. Gemma 2 soft-caps attention scores and logits; Gemma 3 norms q and
// k per head and gives its local layers their own RoPE base (10000,
// unscaled). The stored norm weights already include Gemma's "1 + w" (the
// GGUF converter adds the 1), so RMSNorm is the same as Llama's.
// Constants the files do not carry are llama.cpp's (the reference
// implementation for GGUF), which follows gemma_pytorch's config.
#include <cmath>

#include "common/status_macros.h"
#include "services/model/architectures.h"

namespace fm::model {
namespace {

void CommonGemma(LlamaConfig* c) {
  c->rope_style = RopeStyle::kHalves;
  c->post_norms = true;
  c->ffn_activation = FfnActivation::kGeluTanh;
  c->embedding_scale = std::sqrt(static_cast<float>(c->dim));
}

// The 27B models scale queries by 1 / sqrt(dim / n_heads) (their
// query_pre_attn_scalar), the others by 1 / sqrt(head_size); a file does
// not say which, so the 27B shape is recognised by its layer count.
void QueryScale(int32_t layers_27b, LlamaConfig* c) {
  if (c->n_layers == layers_27b) {
    c->attention_scale =
        1.0f / std::sqrt(static_cast<float>(c->dim / c->n_heads));
  }
}

}  // namespace

absl::Status ReadGemma2Hparams(GgufHparams* h, LlamaConfig* c) {
  CommonGemma(c);
  c->sliding_window = 4096;
  FM_RETURN_IF_ERROR(h->Int("attention.sliding_window", false, 0, kMaxSeqLen,
                            &c->sliding_window));
  if (c->sliding_window > 0) {
    FM_RETURN_IF_ERROR(ReadSlidingLayers(h, /*default_pattern=*/2, c));
  }
  c->attn_softcap = 50.0f;
  c->final_softcap = 30.0f;
  FM_RETURN_IF_ERROR(h->Float("attn_logit_softcapping", false, 0.0f, 1e6f,
                              &c->attn_softcap));
  FM_RETURN_IF_ERROR(h->Float("final_logit_softcapping", false, 0.0f, 1e6f,
                              &c->final_softcap));
  QueryScale(46, c);
  return absl::OkStatus();
}

absl::Status ReadGemma3Hparams(GgufHparams* h, LlamaConfig* c) {
  CommonGemma(c);
  c->qk_norm = true;
  FM_RETURN_IF_ERROR(h->Int("attention.sliding_window", false, 0, kMaxSeqLen,
                            &c->sliding_window));
  if (c->sliding_window > 0) {
    FM_RETURN_IF_ERROR(ReadSlidingLayers(h, /*default_pattern=*/6, c));
    c->rope_theta_swa = 10000.0f;
    c->rope_scale_swa = 1.0f;
  }
  FM_RETURN_IF_ERROR(h->Float("final_logit_softcapping", false, 0.0f, 1e6f,
                              &c->final_softcap));
  QueryScale(62, c);
  return absl::OkStatus();
}

}  // namespace fm::model
