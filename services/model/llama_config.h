// LlamaConfig: the hyperparameters of a Llama-family transformer ("the
// blueprint" in llama2.c), with llama2.c's field names, the switches by which
// the architectures of the family differ (Llama 3, Mistral, Qwen 2/3,
// Gemma 2/3), and their validation.
#ifndef FM_SERVICES_MODEL_LLAMA_CONFIG_H_
#define FM_SERVICES_MODEL_LLAMA_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fm::model {

// Upper bounds on what a file may declare. They exist so that a hostile
// header can never make us allocate or index absurd amounts; they are far
// above any model this service is meant for (Llama-2-70B has dim 8192,
// hidden_dim 28672, 80 layers, 64 heads, vocab 32000).
inline constexpr int64_t kMaxDim = 1 << 16;
inline constexpr int64_t kMaxHiddenDim = 1 << 18;
inline constexpr int64_t kMaxLayers = 1024;
inline constexpr int64_t kMaxHeads = 1024;
inline constexpr int64_t kMaxVocabSize = 1 << 22;
inline constexpr int64_t kMaxSeqLen = 1 << 20;

inline constexpr float kMaxRopeScale = 1024.0f;  // linear factor, either way

// Which dimensions RoPE pairs up within a head: Llama checkpoints (GGUF's
// converter permutes q/k for this) rotate adjacent pairs (2i, 2i + 1);
// Qwen and Gemma rotate (i, i + rope_dim / 2) ("NEOX" in ggml).
enum class RopeStyle { kAdjacentPairs, kHalves };

// The FFN gate's nonlinearity: SwiGLU (silu) or GeGLU (gelu, tanh form).
enum class FfnActivation { kSilu, kGeluTanh };

struct LlamaConfig {
  std::string architecture = "llama";  // GGUF general.architecture
  int32_t dim = 0;              // transformer (embedding) dimension
  int32_t hidden_dim = 0;       // FFN inner dimension
  int32_t n_layers = 0;         // number of transformer blocks
  int32_t n_heads = 0;          // number of query heads
  int32_t n_kv_heads = 0;       // number of key/value heads (< n_heads: GQA)
  int32_t head_size = 0;        // per head; dim / n_heads unless the file says
  int32_t q_dim = 0;            // n_heads * head_size (Gemma, Qwen 3: != dim)
  int32_t kv_dim = 0;           // n_kv_heads * head_size
  int32_t vocab_size = 0;       // number of tokens
  int32_t seq_len = 0;          // maximum context length (positions)
  int32_t rope_dim = 0;         // rotated dims per head (== head_size normally)
  float rope_theta = 10000.0f;  // RoPE base frequency
  float rms_eps = 1e-5f;        // RMSNorm epsilon

  // --- Where the architectures differ (defaults: Llama 2). ---
  RopeStyle rope_style = RopeStyle::kAdjacentPairs;
  // Linear RoPE scaling: positions are multiplied by this (1 / factor).
  float rope_scale = 1.0f;
  // Sliding-window layers' own RoPE base and scale (Gemma 3's local layers;
  // elsewhere equal to rope_theta / rope_scale).
  float rope_theta_swa = 10000.0f;
  float rope_scale_swa = 1.0f;
  // Positions a sliding-window layer attends to, its own included: a query
  // at p sees [p - sliding_window + 1, p]; 0 = no sliding window.
  int32_t sliding_window = 0;
  // Per layer: 1 when it uses the sliding window (n_layers entries, or
  // empty when sliding_window == 0).
  std::vector<uint8_t> sliding_layers;
  bool qkv_bias = false;         // q/k/v projections have biases (Qwen 2)
  bool qk_norm = false;          // per-head RMSNorm of q and k (Qwen 3, Gemma 3)
  bool post_norms = false;       // RMSNorm after attention and FFN (Gemma)
  float embedding_scale = 1.0f;  // token embeddings multiplied by (Gemma: sqrt(dim))
  float attention_scale = 0.0f;  // query scale; 0 = 1 / sqrt(head_size)
  float attn_softcap = 0.0f;     // scores -> c * tanh(s / c) when > 0 (Gemma 2)
  float final_softcap = 0.0f;    // logits -> c * tanh(l / c) when > 0 (Gemma 2)
  FfnActivation ffn_activation = FfnActivation::kSilu;

  // Fills head_size (dim / n_heads unless already set), q_dim and kv_dim
  // (and rope_dim = head_size when it is 0). Call before Validate().
  void DeriveSizes();

  // Whether layer l attends through the sliding window.
  bool LayerIsSliding(int32_t l) const {
    return sliding_window > 0 && !sliding_layers.empty() &&
           sliding_layers[l] != 0;
  }
  // The scale applied to q·k: attention_scale, or 1 / sqrt(head_size).
  float QueryScale() const;

  // INVALID_ARGUMENT naming the field, its value and the limit when a
  // dimension is non-positive, above its bound, or inconsistent
  // (n_heads % n_kv_heads, odd rope_dim, rope_dim > head_size, q_dim), or
  // an architecture value is out of range.
  absl::Status Validate() const;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_LLAMA_CONFIG_H_
