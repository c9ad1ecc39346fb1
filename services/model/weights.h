// LlamaWeights: flat views of every tensor of a Llama model, as llama2.c's
// TransformerWeights, each a {dtype, data, rows, cols} view into the file.
#ifndef FM_SERVICES_MODEL_WEIGHTS_H_
#define FM_SERVICES_MODEL_WEIGHTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/model/llama_config.h"

namespace fm::model {

enum class DType : int32_t {
  kF32 = 0,
  kF16 = 1,
  kQ8_0 = 8,  // ggml's numbering: blocks of 32 int8 + one fp16 scale
};

absl::string_view DTypeName(DType dtype);

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

  const float* f32() const { return static_cast<const float*>(data); }
  int64_t elements() const { return rows * cols; }
  // Bytes occupied by the data (Q8_0: 34 bytes per 32 elements).
  uint64_t bytes() const;
};

// Bytes that `elements` elements of `dtype` occupy, or 0 when the count is
// not representable (Q8_0 needs a multiple of 32).
uint64_t DTypeBytes(DType dtype, uint64_t elements);

struct LayerWeights {
  Tensor rms_att;  // (dim)
  Tensor wq;       // (n_heads * head_size, dim)
  Tensor wk;       // (kv_dim, dim)
  Tensor wv;       // (kv_dim, dim)
  Tensor wo;       // (dim, n_heads * head_size)
  Tensor rms_ffn;  // (dim)
  Tensor w1;       // (hidden_dim, dim)  gate
  Tensor w2;       // (dim, hidden_dim)  down
  Tensor w3;       // (hidden_dim, dim)  up
};

struct LlamaWeights {
  Tensor token_embedding;            // (vocab_size, dim)
  std::vector<LayerWeights> layers;  // n_layers
  Tensor rms_final;                  // (dim)
  Tensor wcls;                       // (vocab_size, dim)
  bool shared_classifier = false;    // wcls aliases token_embedding
};

// Checks that every tensor has the shape `config` implies, a non-null data
// pointer and a supported dtype (norms must be F32; F16 must have been
// converted to F32 by the loader; Q8_0 needs cols % 32 == 0).
// INVALID_ARGUMENT naming the tensor, the expected and the actual shape.
absl::Status ValidateWeights(const LlamaConfig& config,
                             const LlamaWeights& weights);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_WEIGHTS_H_
