// Random-weight tiny models of every architecture the model service runs
// (llama incl. Llama 3 / Mistral, qwen2, qwen3, gemma2, gemma3), written as
// GGUF with the tensor and key names of llama.cpp's converter, and the copy
// of a model that a quantized file really holds. The oracle that runs them
// is tests/model/arch_reference_forward.h.
#ifndef FM_TESTS_MODEL_ARCH_MODEL_H_
#define FM_TESTS_MODEL_ARCH_MODEL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/model/ggml_quant_reference.h"
#include "tests/model/tiny_model_writer.h"

namespace fm::model::testing {

enum class Arch { kLlama, kQwen2, kQwen3, kGemma2, kGemma3 };

// GGUF general.architecture: "llama", "qwen2", "qwen3", "gemma2", "gemma3".
const char* ArchName(Arch a);

// The optional fields are written whenever they are set, whatever the
// architecture; how the forward pass uses them is in the comments (and in
// arch_reference_forward.h).
struct ArchConfig {
  Arch arch = Arch::kLlama;
  int32_t dim = 64;
  int32_t hidden_dim = 128;
  int32_t n_layers = 2;
  int32_t n_heads = 4;
  int32_t n_kv_heads = 2;
  // 0: dim / n_heads. Else written as {arch}.attention.key_length and
  // value_length, and q_dim = n_heads * head_size may differ from dim.
  int32_t head_size = 0;
  int32_t vocab_size = 96;
  int32_t context_length = 64;  // also the reference's KV cache length
  float rope_theta = 10000.0f;
  float rms_eps = 1e-6f;
  bool tied_embeddings = true;  // false: output.weight written
  // Llama 3: rope_freqs.weight, head_size / 2 F32 factors in [1, 8] that
  // divide RoPE's frequencies.
  bool rope_freq_factors = false;
  // > 0: {arch}.rope.scaling.type = "linear" and {arch}.rope.scaling.factor;
  // positions are divided by it (gemma3: global layers only).
  float rope_linear_factor = 0.0f;
  // > 0: {arch}.attention.sliding_window. Sliding layers: llama every layer,
  // gemma2 the even ones, gemma3 five in six (l % 6 < 5), qwen none.
  int32_t sliding_window = 0;
  // gemma3 local (sliding) layers' RoPE base; not written, llama.cpp
  // hard-codes 10000.
  float rope_theta_swa = 10000.0f;
  // > 0: {arch}.attn_logit_softcapping / final_logit_softcapping; the
  // forward applies them for gemma2 only. (llama.cpp's gemma2 defaults them
  // to 50 / 30 when absent: give both for a file it would read alike.)
  float attn_softcap = 0.0f;
  float final_softcap = 0.0f;
};

// One block's weights, row-major (rows = output features: out = W . x).
// An empty vector means that the tensor is absent.
struct ArchLayer {
  std::vector<float> attn_norm;       // (dim)
  std::vector<float> wq;              // (q_dim, dim)
  std::vector<float> wk;              // (kv_dim, dim)
  std::vector<float> wv;              // (kv_dim, dim)
  std::vector<float> bq;              // (q_dim)            qwen2
  std::vector<float> bk;              // (kv_dim)           qwen2
  std::vector<float> bv;              // (kv_dim)           qwen2
  std::vector<float> q_norm;          // (head_size)        qwen3, gemma3
  std::vector<float> k_norm;          // (head_size)        qwen3, gemma3
  std::vector<float> wo;              // (dim, q_dim)
  std::vector<float> post_attn_norm;  // (dim)              gemma2, gemma3
  std::vector<float> ffn_norm;        // (dim)
  std::vector<float> w_gate;          // (hidden_dim, dim)
  std::vector<float> w_up;            // (hidden_dim, dim)
  std::vector<float> w_down;          // (dim, hidden_dim)
  std::vector<float> post_ffw_norm;   // (dim)              gemma2, gemma3
};

struct ArchModel {
  ArchConfig config;
  std::vector<float> token_embedding;  // (vocab_size, dim)
  std::vector<float> output_norm;      // (dim)
  std::vector<float> output;           // (vocab_size, dim); empty when tied
  std::vector<float> rope_freqs;       // (head_size / 2); empty when unused
  std::vector<ArchLayer> layers;

  int32_t head_size() const;
  int32_t q_dim() const;   // n_heads * head_size
  int32_t kv_dim() const;  // n_kv_heads * head_size
  // Whether layer l attends to the last sliding_window positions only
  // (see ArchConfig::sliding_window).
  bool LayerIsSliding(int32_t l) const;
  // token_embedding when tied, else output.
  const std::vector<float>& classifier() const;
};

// Deterministic random weights, as MakeRandomTinyModel: matrices ~U(-a, a)
// with a = 1/sqrt(cols), norms 1 +- 0.2, embedding ~U(-1, 1), biases
// ~U(-0.1, 0.1), rope factors ~U(1, 8). Which optional tensors exist
// follows the architecture (see ArchLayer).
ArchModel MakeRandomArchModel(const ArchConfig& c, uint32_t seed);

// Which GGUF type each tensor gets: (GGUF tensor name, row length ne[0])
// -> type. A plan must only give a block type whose block divides cols.
using TypePlan =
    std::function<GgmlType(const std::string& name, uint64_t cols)>;

// Every 2-D weight (token_embd and output included) in matrix_type when
// cols % BlockElements(matrix_type) == 0, else F32; 1-D tensors (norms,
// biases, rope_freqs) always F32.
TypePlan UniformPlan(GgmlType matrix_type);
// After llama-quantize's _M presets, simplified: attn_v, ffn_down, output
// and token_embd in Q6_K, the other matrices in main_type; F32 wherever the
// type's block does not divide cols (so K-quants need dim and hidden_dim
// multiples of 256); 1-D tensors F32.
TypePlan KQuantMixPlan(GgmlType main_type);

// The general.* and {arch}.* metadata and every tensor of `m` under
// llama.cpp's names, each in the type `plan` gives it.
GgufWriter MakeArchGguf(const ArchModel& m, const TypePlan& plan);

// The model as the file written with `plan` really holds it: every tensor
// replaced by RoundTrip(type, ...) of its planned type (F32 ones unchanged).
ArchModel QuantizedCopy(const ArchModel& m, const TypePlan& plan);

}  // namespace fm::model::testing

#endif  // FM_TESTS_MODEL_ARCH_MODEL_H_
