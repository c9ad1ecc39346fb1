// LlamaWeights: flat views of every tensor of a Llama model, as llama2.c's
// TransformerWeights, each a {dtype, data, rows, cols} view into the file.
#ifndef FM_SERVICES_MODEL_WEIGHTS_H_
#define FM_SERVICES_MODEL_WEIGHTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/model/dtype.h"
#include "services/model/llama_config.h"

namespace fm::model {

// A read-only 2-D tensor view: `rows` rows of `cols` contiguous elements
// (a vector is rows = 1). For a weight matrix, rows = output features and
// cols = input features, i.e. out = W · x as in llama2.c's matmul.
// `data` is not owned: it points into the mapped file or into a buffer
// owned by the Checkpoint.
struct Tensor {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  // The matrix re-laid for an interleaved kernel (interleaved_layout.h),
  // owned by the Checkpoint, or null. `data` stays the file's layout (row
  // lookups read it).
  const void* interleaved = nullptr;
  uint64_t interleaved_bytes = 0;

  // False for a tensor the architecture does not have (no data).
  bool present() const { return data != nullptr; }
  const float* f32() const { return static_cast<const float*>(data); }
  int64_t elements() const { return rows * cols; }
  // Bytes occupied by the data (Q8_0: 34 bytes per 32 elements).
  uint64_t bytes() const;
  // Bytes of one row (a whole number of blocks: checked at load).
  uint64_t row_bytes() const;
  // Bytes a product with this matrix reads: the interleaved copy's where
  // there is one, else bytes().
  uint64_t streamed_bytes() const {
    return interleaved != nullptr ? interleaved_bytes : bytes();
  }
};

// The optional tensors are present exactly when the config's architecture
// flags say so (ValidateWeights checks both directions).
struct LayerWeights {
  Tensor rms_att;  // (dim)
  Tensor wq;       // (q_dim, dim)   q_dim = n_heads * head_size
  Tensor wk;       // (kv_dim, dim)
  Tensor wv;       // (kv_dim, dim)
  Tensor bq;       // (q_dim)   qkv_bias only (Qwen 2)
  Tensor bk;       // (kv_dim)  qkv_bias only
  Tensor bv;       // (kv_dim)  qkv_bias only
  Tensor q_norm;   // (head_size)  qk_norm only (Qwen 3, Gemma 3)
  Tensor k_norm;   // (head_size)  qk_norm only
  Tensor wo;       // (dim, q_dim)
  Tensor rms_post_att;  // (dim)  post_norms only (Gemma)
  Tensor rms_ffn;  // (dim)
  Tensor w1;       // (hidden_dim, dim)  gate
  Tensor w2;       // (dim, hidden_dim)  down
  Tensor w3;       // (hidden_dim, dim)  up
  Tensor rms_post_ffn;  // (dim)  post_norms only
};

struct LlamaWeights {
  Tensor token_embedding;            // (vocab_size, dim)
  std::vector<LayerWeights> layers;  // n_layers
  Tensor rms_final;                  // (dim)
  Tensor wcls;                       // (vocab_size, dim)
  bool shared_classifier = false;    // wcls aliases token_embedding
  // Llama 3 RoPE: per-frequency divisors, (rope_dim / 2); absent: all 1.
  Tensor rope_freqs;
};

// Every tensor a layer has (the optional ones only when present).
std::vector<const Tensor*> LayerTensors(const LayerWeights& l);

// Checks that every tensor has the shape `config` implies, a non-null data
// pointer and a supported dtype (vectors must be F32; matrices may be F32,
// F16, BF16 or a block type whose block divides a row), and that the
// optional tensors are there exactly when
// the config's architecture asks for them.
// INVALID_ARGUMENT naming the tensor, the expected and the actual shape.
absl::Status ValidateWeights(const LlamaConfig& config,
                             const LlamaWeights& weights);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_WEIGHTS_H_
