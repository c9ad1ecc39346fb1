// LlamaConfig: the hyperparameters of a Llama-family transformer ("the
// blueprint" in llama2.c), with llama2.c's field names, and their validation.
#ifndef FM_SERVICES_MODEL_LLAMA_CONFIG_H_
#define FM_SERVICES_MODEL_LLAMA_CONFIG_H_

#include <cstdint>

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

struct LlamaConfig {
  int32_t dim = 0;              // transformer (embedding) dimension
  int32_t hidden_dim = 0;       // FFN inner dimension
  int32_t n_layers = 0;         // number of transformer blocks
  int32_t n_heads = 0;          // number of query heads
  int32_t n_kv_heads = 0;       // number of key/value heads (< n_heads: GQA)
  int32_t head_size = 0;        // dim / n_heads
  int32_t kv_dim = 0;           // n_kv_heads * head_size
  int32_t vocab_size = 0;       // number of tokens
  int32_t seq_len = 0;          // maximum context length (positions)
  int32_t rope_dim = 0;         // rotated dims per head (== head_size normally)
  float rope_theta = 10000.0f;  // RoPE base frequency
  float rms_eps = 1e-5f;        // RMSNorm epsilon

  // Fills head_size and kv_dim from dim, n_heads and n_kv_heads (and
  // rope_dim = head_size when it is 0). Call before Validate().
  void DeriveSizes();

  // INVALID_ARGUMENT naming the field, its value and the limit when a
  // dimension is non-positive, above its bound, or inconsistent
  // (dim % n_heads, n_heads % n_kv_heads, odd rope_dim, rope_dim > head_size).
  absl::Status Validate() const;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_LLAMA_CONFIG_H_
