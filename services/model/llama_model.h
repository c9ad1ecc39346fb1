// LlamaModel: a loaded Llama-family checkpoint (Llama 2/3, Mistral, Qwen 2/3,
// Gemma 2/3) and its batched forward pass (token ids in, logits out),
// reading top to bottom like llama2.c's forward(), the architectures'
// differences switched by the config.
#ifndef FM_SERVICES_MODEL_LLAMA_MODEL_H_
#define FM_SERVICES_MODEL_LLAMA_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/model/aligned_vector.h"
#include "services/model/checkpoint.h"
#include "services/model/kv_cache.h"
#include "services/model/llama_config.h"
#include "services/model/ops.h"
#include "services/model/thread_pool.h"

namespace fm::model {

// What Info reports about a loaded model; everything is derived from the
// shapes at load time.
struct ModelInfo {
  std::string architecture;   // "llama", "qwen2", "qwen3", "gemma2", "gemma3"
  std::string format;         // "llama2c-v0", "llama2c-v1", "gguf-v2/3"
  std::string dtype;          // the file's dtype of blk.0.attn_q: F32, Q4_K, ...
  // The layer matrices' dtypes as multiplied: "F32", "Q8_0", "Q4_K+Q6_K".
  std::string compute_dtype;
  std::string blas_core;      // openblas_get_corename()
  // The quantized matrices' kernels: "avx512vnni", "avx2" or "scalar".
  std::string integer_kernels;
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_size = 0;
  int32_t kv_dim = 0;
  int32_t vocab_size = 0;
  int32_t context_length = 0;  // seq_len: positions served
  int32_t file_context_length = 0;  // what the file declares (FromCheckpoint)
  int32_t rope_dim = 0;
  float rope_theta = 0.0f;
  float rms_eps = 0.0f;
  bool shared_classifier = false;
  int32_t threads = 1;
  int64_t parameter_count = 0;  // tied classifier counted once
  int64_t weight_bytes = 0;     // bytes of weights in memory (streamed)
  // Bytes of weights read per decode step: all matrices + the classifier
  // (the embedding is read one row at a time).
  int64_t streamed_bytes_per_token = 0;
  // Matmul FLOPs (2 per multiply-add) per token. Decode includes the
  // classifier; prefill does not (logits only for the last position).
  int64_t flops_per_token_decode = 0;
  int64_t flops_per_token_prefill = 0;
  // Attention FLOPs per token per position already in the context
  // (QK dot + AV sum: 4 * n_layers * n_heads * head_size); add
  // attention_flops_per_position * pos to the above for position pos.
  int64_t attention_flops_per_position = 0;
  std::string kv_dtype;            // "f16" or "f32"
  // 2 * n_layers * kv_dim * element bytes: per position of one sequence.
  int64_t kv_bytes_per_token = 0;
  // Tensors of the file by dtype as stored ("F32" -> 12, "Q4_K" -> 70).
  std::map<std::string, int32_t> tensor_types;
  double bits_per_weight = 0.0;  // weight_bytes * 8 / parameter_count
  // Every hyperparameter the forward pass uses beyond the fields above,
  // by name ("rope_style" -> "halves", "sliding_window" -> "512", ...).
  std::map<std::string, std::string> hyperparameters;
};

// One unit of work in a batched Forward: append `tokens` to `seq` at
// positions [seq->size(), seq->size() + tokens.size()).
struct ForwardItem {
  KvSequence* seq = nullptr;         // never null; not owned
  absl::Span<const int32_t> tokens;  // non-empty; ids in [0, vocab_size)
  // false: logits of the last position only, (vocab_size);
  // true: of every appended position, (tokens.size(), vocab_size).
  bool all_logits = false;
  std::vector<float>* logits = nullptr;  // never null; resized by Forward
};

// How to load a model: compute threads and the context to serve.
struct LoadOptions {
  // The compute threads of this model's pool, which run all matrix
  // products (our kernels, and OpenBLAS single-threaded on slices); <= 0
  // means 1.
  int threads = 1;
  // Positions a sequence may hold: the file's context length, capped at
  // this when > 0 (a 128k-context file need not be served at 128k).
  int32_t ctx_size = 0;
  // How the KV cache stores keys and values.
  KvDType kv_dtype = KvDType::kF16;
  // Re-lay the Q4_K / Q6_K / Q8_0 / Q4_0 matrices 8 rows interleaved for
  // their faster kernels (interleaved_layout.h) where this CPU has them; false
  // keeps the row kernels over the mapped file (benchmarks compare them).
  bool interleave_weights = true;
  // Called (from the compute threads) as each matrix is re-laid: how many
  // are done of how many. Unset: no reports.
  std::function<void(int64_t done, int64_t total)> on_tensor_laid_out;
};

class LlamaModel {
 public:
  // Loads a checkpoint (format by magic) and logs what it loaded and the
  // OpenBLAS core (a warning if it is a generic fallback). `threads`: the
  // compute threads of this model's pool, which run all matrix products
  // (our kernels, and OpenBLAS single-threaded on slices); <= 0 means 1.
  // Sets OpenBLAS to one thread (process-wide).
  // INVALID_ARGUMENT for a negative ctx_size.
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(
      absl::string_view path, const LoadOptions& options);
  // With `threads` and an F32 KV cache (exact: tests and tools compare it
  // with references).
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(
      absl::string_view path, int threads);
  static absl::StatusOr<std::unique_ptr<LlamaModel>> FromCheckpoint(
      std::unique_ptr<Checkpoint> checkpoint, const LoadOptions& options);
  static absl::StatusOr<std::unique_ptr<LlamaModel>> FromCheckpoint(
      std::unique_ptr<Checkpoint> checkpoint, int threads);

  ~LlamaModel();

  const ModelInfo& info() const { return info_; }
  const LlamaConfig& config() const { return checkpoint_->config; }
  const LlamaWeights& weights() const { return checkpoint_->weights; }

  // A session's set of sequences (max_sequences <= 0: unlimited).
  std::unique_ptr<KvCache> NewKvCache(int32_t max_sequences) const;
  // A standalone sequence (for callers that manage their own).
  std::unique_ptr<KvSequence> NewSequence(int32_t id) const;

  // The checks Forward applies to one item, without running anything:
  // INVALID_ARGUMENT for a null seq/logits, empty tokens, a sequence of a
  // different shape or KV dtype, or a token id outside [0, vocab_size) (naming the id,
  // its index and vocab_size); OUT_OF_RANGE when the tokens do not fit
  // before seq_len (naming position, count and seq_len).
  absl::Status ValidateItem(const ForwardItem& item) const;

  // Runs all items as one batch: every weight matrix is multiplied once per
  // pass (up to 256 rows) for all rows of all items, so a batch of decode
  // steps streams the weights once (our batched F32 / Q8_0 kernels up to
  // kMaxKernelRows rows, OpenBLAS sgemm beyond). Decode steps batched
  // together give bit-identical logits to each run alone. Items are validated
  // first; on any error nothing is changed (no sequence grows). Also
  // INVALID_ARGUMENT if two items share a sequence. Not thread-safe: call from
  // one compute thread (the scratch buffers and the thread pool are shared).
  absl::Status Forward(absl::Span<const ForwardItem> items);

  // Convenience: one sequence, logits of the last position.
  absl::StatusOr<std::vector<float>> Forward(KvSequence* seq,
                                             absl::Span<const int32_t> tokens);

 private:
  struct Row;  // one (sequence, position, token) of a pass
  LlamaModel(std::unique_ptr<Checkpoint> checkpoint, int threads,
             KvDType kv_dtype);
  void EnsureScratch(int64_t n_rows, int64_t n_out);
  void RunPass(absl::Span<const Row> rows, absl::Span<const ForwardItem> items);

  std::unique_ptr<Checkpoint> checkpoint_;
  ModelInfo info_;
  KvDType kv_dtype_ = KvDType::kF16;
  std::unique_ptr<ThreadPool> pool_;
  MatMulContext matmul_;

  // Scratch (llama2.c's RunState) for up to rows_capacity_ rows per pass.
  int64_t rows_capacity_ = 0;
  int64_t out_capacity_ = 0;
  AlignedVector<float> x_;       // (rows, dim) activation at the current time
  AlignedVector<float> xb_;      // (rows, dim) same, inside a residual branch
  AlignedVector<float> xb2_;     // (rows, dim) additional buffer
  AlignedVector<float> hb_;      // (rows, hidden_dim) FFN buffer
  AlignedVector<float> hb2_;     // (rows, hidden_dim) FFN buffer
  AlignedVector<float> q_;       // (rows, q_dim) query
  AlignedVector<float> ao_;      // (rows, q_dim) attention output
  AlignedVector<float> k_;       // (rows, kv_dim) key
  AlignedVector<float> v_;       // (rows, kv_dim) value
  std::vector<float> rope_cos_;  // (rows, rope_dim / 2)
  std::vector<float> rope_sin_;  // (rows, rope_dim / 2)
  std::vector<float> rope_cos_swa_;  // (rows, rope_dim / 2) sliding layers
  std::vector<float> rope_sin_swa_;  // (rows, rope_dim / 2) sliding layers
  std::vector<float> att_;       // (threads, seq_len) attention scores
  AlignedVector<float> xo_;      // (n_out, dim) final-norm rows with logits
  std::vector<float> logits_;    // (n_out, vocab_size)
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_LLAMA_MODEL_H_
