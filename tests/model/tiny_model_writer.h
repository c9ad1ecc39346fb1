// Writes small random-weight Llama models for the tests and the benchmark:
// llama2.c legacy and v1 checkpoints, and GGUF v3 with tensors of any type.
#ifndef FM_TESTS_MODEL_TINY_MODEL_WRITER_H_
#define FM_TESTS_MODEL_TINY_MODEL_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/model/ggml_quant_reference.h"
#include "tests/support/gguf_writer.h"

namespace fm::model::testing {

struct TinyConfig {
  int32_t dim = 64;
  int32_t hidden_dim = 96;
  int32_t n_layers = 2;
  int32_t n_heads = 4;
  int32_t n_kv_heads = 2;
  int32_t vocab_size = 96;
  int32_t seq_len = 48;
  bool shared_classifier = true;
  float rope_theta = 10000.0f;
  float rms_eps = 1e-5f;
  // Dimensions of each head that RoPE rotates; 0 means all (head_size).
  // Only GGUF can store another value (llama.rope.dimension_count).
  int32_t rope_dim = 0;
};

// All weights as llama2.c's legacy file lays them out, F32.
struct TinyModel {
  TinyConfig config;
  std::vector<float> token_embedding;  // (vocab_size, dim)
  std::vector<float> rms_att;          // (n_layers, dim)
  std::vector<float> wq;               // (n_layers, dim, dim)
  std::vector<float> wk;               // (n_layers, kv_dim, dim)
  std::vector<float> wv;               // (n_layers, kv_dim, dim)
  std::vector<float> wo;               // (n_layers, dim, dim)
  std::vector<float> rms_ffn;          // (n_layers, dim)
  std::vector<float> w1;               // (n_layers, hidden_dim, dim)
  std::vector<float> w2;               // (n_layers, dim, hidden_dim)
  std::vector<float> w3;               // (n_layers, hidden_dim, dim)
  std::vector<float> rms_final;        // (dim)
  std::vector<float> wcls;             // (vocab_size, dim); empty if shared

  int32_t kv_dim() const {
    return config.n_kv_heads * (config.dim / config.n_heads);
  }
  const std::vector<float>& classifier() const {
    return config.shared_classifier ? token_embedding : wcls;
  }
};

// Deterministic random weights (matrices ~U(-a, a) with a = 1/sqrt(cols),
// norms ~1 +- 0.2) so that logits are well spread.
TinyModel MakeRandomTinyModel(const TinyConfig& config, uint32_t seed);

absl::Status WriteLlama2cLegacy(const TinyModel& m, const std::string& path);
absl::Status WriteLlama2cV1(const TinyModel& m, const std::string& path);

// A GGUF file under construction (tests/support/gguf_writer.h) that can
// also take F32 data as a tensor of a model type.
class GgufWriter : public ::fm::testing::GgufWriter {
 public:
  using ::fm::testing::GgufWriter::GgufWriter;
  // ne[0] is the innermost dimension; data is converted from F32 into
  // `type` by ggml's reference quantizer (QuantizeReference: ne[0] must be
  // a multiple of the type's block).
  void AddTensor(const std::string& name, std::vector<uint64_t> ne,
                 GgmlType type, const float* data);
};

// The llama.* metadata and all tensors of `m`; matrices (and the embedding
// and classifier) in `matrix_type` where their row length allows (a
// multiple of its block: others stay F32), norms always F32.
GgufWriter MakeGguf(const TinyModel& m, GgmlType matrix_type,
                    int32_t context_length = 0);
absl::Status WriteGguf(const TinyModel& m, const std::string& path,
                       GgmlType matrix_type);

absl::Status WriteFile(const std::string& path, const std::string& bytes);
// The whole file, or "" if it cannot be read.
std::string ReadFileBytes(const std::string& path);

}  // namespace fm::model::testing

#endif  // FM_TESTS_MODEL_TINY_MODEL_WRITER_H_
