// The Llama-family forward pass, batched: llama2.c's forward() applied to
// many (sequence, position) rows at once so every matmul streams each
// weight matrix once per pass.
#include "services/model/llama_model.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/model/blas_core.h"
#include "services/model/f32_kernel.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/kv_attention.h"

namespace fm::model {
namespace {

void AddBias(float* x, const float* bias, int64_t size) {
  for (int64_t i = 0; i < size; ++i) x[i] += bias[i];
}

// Rows per pass: a longer prompt is processed in several passes. Bounds the
// scratch memory (the logits scratch is at most this many vocab rows).
constexpr int64_t kMaxRowsPerPass = 256;

int64_t MatrixParams(const LlamaWeights& w, bool with_classifier) {
  int64_t n = 0;
  for (const LayerWeights& l : w.layers) {
    n += l.wq.elements() + l.wk.elements() + l.wv.elements() + l.wo.elements() +
         l.w1.elements() + l.w2.elements() + l.w3.elements();
  }
  if (with_classifier) n += w.wcls.elements();
  return n;
}

// The layer matrices' dtypes as the forward pass multiplies them, e.g.
// "F32", "Q8_0" or "Q4_K+Q6_K" (a K-quant mix), in ggml's type order.
std::string ComputeDType(const LlamaWeights& w) {
  std::set<DType> dtypes;
  for (const LayerWeights& l : w.layers) {
    for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) {
      dtypes.insert(t->dtype);
    }
  }
  std::string out;
  for (DType d : dtypes) {
    absl::StrAppend(&out, out.empty() ? "" : "+", DTypeName(d));
  }
  return out;
}

// The architecture switches of the config, by name, for Info.
std::map<std::string, std::string> Hyperparameters(const LlamaConfig& c,
                                                   const LlamaWeights& w) {
  std::map<std::string, std::string> h;
  h["q_dim"] = absl::StrCat(c.q_dim);
  h["rope_style"] =
      c.rope_style == RopeStyle::kAdjacentPairs ? "adjacent_pairs" : "halves";
  h["rope_scale"] = absl::StrCat(c.rope_scale);
  h["rope_freq_factors"] = w.rope_freqs.present() ? "yes" : "no";
  h["ffn_activation"] =
      c.ffn_activation == FfnActivation::kSilu ? "silu" : "gelu_tanh";
  h["qkv_bias"] = c.qkv_bias ? "yes" : "no";
  h["qk_norm"] = c.qk_norm ? "yes" : "no";
  h["post_norms"] = c.post_norms ? "yes" : "no";
  h["embedding_scale"] = absl::StrCat(c.embedding_scale);
  h["query_scale"] = absl::StrCat(c.QueryScale());
  h["sliding_window"] = absl::StrCat(c.sliding_window);
  if (c.sliding_window > 0) {
    int sliding = 0;
    for (uint8_t s : c.sliding_layers) sliding += s;
    h["sliding_layers"] = absl::StrCat(sliding, " of ", c.n_layers);
    h["rope_theta_swa"] = absl::StrCat(c.rope_theta_swa);
    h["rope_scale_swa"] = absl::StrCat(c.rope_scale_swa);
  }
  h["attn_softcap"] = absl::StrCat(c.attn_softcap);
  h["final_softcap"] = absl::StrCat(c.final_softcap);
  return h;
}

// Gives every layer matrix and the classifier whose type has an
// interleaved kernel here its interleaved copy, the matrices spread over
// `threads` threads (a few seconds for a 7B model's 4 GB on one).
void InterleaveMatrices(
    int threads, Checkpoint* ckpt,
    const std::function<void(int64_t, int64_t)>& on_tensor_laid_out) {
  LlamaWeights& w = ckpt->weights;
  std::vector<Tensor*> matrices;
  for (LayerWeights& l : w.layers) {
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) {
      if (HasInterleavedKernel(t->dtype)) matrices.push_back(t);
    }
  }
  if (HasInterleavedKernel(w.wcls.dtype)) matrices.push_back(&w.wcls);
  if (matrices.empty()) return;
  // Offsets on cache-line boundaries in one buffer.
  std::vector<int64_t> bytes(matrices.size());
  std::vector<int64_t> offset(matrices.size() + 1, 0);
  for (size_t k = 0; k < matrices.size(); ++k) {
    const Tensor& t = *matrices[k];
    bytes[k] = InterleavedBytes(t.dtype, t.rows, t.cols);
    offset[k + 1] = offset[k] + (bytes[k] + 63) / 64 * 64;
  }
  ckpt->interleaved = HugePageBuffer(static_cast<size_t>(offset.back()));
  uint8_t* base = ckpt->interleaved.data();
  ThreadPool pool(threads);
  const int64_t total = static_cast<int64_t>(matrices.size());
  std::atomic<int64_t> done{0};
  pool.ParallelFor(total, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t k = b; k < e; ++k) {
      const Tensor& t = *matrices[k];
      InterleaveForKernels(t.dtype, t.data, t.rows, t.cols, base + offset[k]);
      const int64_t now_done = done.fetch_add(1) + 1;
      if (on_tensor_laid_out) on_tensor_laid_out(now_done, total);
    }
  });
  for (size_t k = 0; k < matrices.size(); ++k) {
    Tensor& t = *matrices[k];
    t.interleaved = base + offset[k];
    t.interleaved_bytes = static_cast<uint64_t>(bytes[k]);
    // The file's copy is read again only for embedding rows (a tied
    // classifier): let it leave the resident set, so that RSS counts the
    // weights once.
    if (ckpt->file != nullptr) ckpt->file->DropPages(t.data, t.bytes());
  }
}

}  // namespace

struct LlamaModel::Row {
  int32_t item;   // index into the items of this Forward
  int32_t pos;    // position in the sequence
  int32_t token;  // token id
  int64_t out;    // row index in the item's logits, or -1 for none
};

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(
    absl::string_view path, int threads) {
  LoadOptions options;
  options.threads = threads;
  options.kv_dtype = KvDType::kF32;
  return Load(path, options);
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(
    absl::string_view path, const LoadOptions& options) {
  FM_ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, LoadCheckpoint(path));
  FM_ASSIGN_OR_RETURN(std::unique_ptr<LlamaModel> model,
                      FromCheckpoint(std::move(ckpt), options));
  const ModelInfo& i = model->info();
  FM_LOG(INFO) << "loaded " << std::string(path) << ": " << i.format << " "
               << i.dtype << ", dim " << i.dim << ", " << i.n_layers
               << " layers, " << i.n_heads << "/" << i.n_kv_heads
               << " heads, vocab " << i.vocab_size << ", context "
               << i.context_length << " (file: " << i.file_context_length
               << "), " << i.architecture << " " << i.compute_dtype << " "
               << i.bits_per_weight << " bits/weight, " << i.parameter_count
               << " parameters, " << i.weight_bytes << " weight bytes; "
               << i.threads << " threads; OpenBLAS core " << i.blas_core
               << "; integer kernels " << i.integer_kernels;
  if (IsGenericBlasCore(i.blas_core) && !PreferredBlasCore().empty()) {
    FM_LOG(WARNING) << "OpenBLAS runs its generic core " << i.blas_core
                    << " on a CPU that supports " << PreferredBlasCore()
                    << ": prefill will be slow; call EnsureOpenBlasCore() "
                       "first in main or set OPENBLAS_CORETYPE";
  }
  return model;
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::FromCheckpoint(
    std::unique_ptr<Checkpoint> checkpoint, int threads) {
  LoadOptions options;
  options.threads = threads;
  options.kv_dtype = KvDType::kF32;
  return FromCheckpoint(std::move(checkpoint), options);
}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::FromCheckpoint(
    std::unique_ptr<Checkpoint> checkpoint, const LoadOptions& options) {
  if (checkpoint == nullptr) {
    return absl::InvalidArgumentError("checkpoint is null");
  }
  if (options.ctx_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ctx_size = ", options.ctx_size, " must be >= 0 (0: the file's)"));
  }
  FM_RETURN_IF_ERROR(ValidateWeights(checkpoint->config, checkpoint->weights));
  if (options.interleave_weights) {
    InterleaveMatrices(std::max(1, options.threads), checkpoint.get(),
                       options.on_tensor_laid_out);
  }
  const int32_t file_context = checkpoint->config.seq_len;
  if (options.ctx_size > 0) {
    checkpoint->config.seq_len = std::min(file_context, options.ctx_size);
  }
  auto model = std::unique_ptr<LlamaModel>(
      new LlamaModel(std::move(checkpoint), std::max(1, options.threads),
                     options.kv_dtype));
  model->info_.file_context_length = file_context;
  return model;
}

LlamaModel::LlamaModel(std::unique_ptr<Checkpoint> checkpoint, int threads,
                       KvDType kv_dtype)
    : checkpoint_(std::move(checkpoint)),
      kv_dtype_(kv_dtype),
      pool_(std::make_unique<ThreadPool>(threads)) {
  // OpenBLAS runs single-threaded inside our pool's threads (see MatMulMulti).
  openblas_set_num_threads(1);
  matmul_.pool = pool_.get();
  const LlamaConfig& c = checkpoint_->config;
  const LlamaWeights& w = checkpoint_->weights;
  ModelInfo& i = info_;
  i.architecture = c.architecture;
  i.format = checkpoint_->format;
  i.dtype = checkpoint_->file_dtype;
  i.compute_dtype = ComputeDType(w);
  i.blas_core = BlasCoreName();
  i.integer_kernels = IntegerKernelName();
  i.dim = c.dim;
  i.hidden_dim = c.hidden_dim;
  i.n_layers = c.n_layers;
  i.n_heads = c.n_heads;
  i.n_kv_heads = c.n_kv_heads;
  i.head_size = c.head_size;
  i.kv_dim = c.kv_dim;
  i.vocab_size = c.vocab_size;
  i.context_length = c.seq_len;
  i.rope_dim = c.rope_dim;
  i.rope_theta = c.rope_theta;
  i.rms_eps = c.rms_eps;
  i.shared_classifier = w.shared_classifier;
  i.threads = threads;
  int64_t params = w.token_embedding.elements() + w.rms_final.elements();
  int64_t streamed = static_cast<int64_t>(w.wcls.streamed_bytes());
  for (const LayerWeights& l : w.layers) {
    for (const Tensor* t : LayerTensors(l)) {
      params += t->elements();
      streamed += static_cast<int64_t>(t->streamed_bytes());
    }
  }
  if (!w.shared_classifier) params += w.wcls.elements();
  i.parameter_count = params;
  i.weight_bytes = static_cast<int64_t>(checkpoint_->weight_bytes);
  i.streamed_bytes_per_token = streamed;
  i.flops_per_token_decode = 2 * MatrixParams(w, true);
  i.flops_per_token_prefill = 2 * MatrixParams(w, false);
  i.attention_flops_per_position = 4ll * c.n_layers * c.n_heads * c.head_size;
  i.kv_dtype = KvDTypeName(kv_dtype);
  i.kv_bytes_per_token =
      2ll * c.n_layers * c.kv_dim * KvElementBytes(kv_dtype);
  i.tensor_types = checkpoint_->tensor_types;
  i.bits_per_weight = params > 0 ? 8.0 * static_cast<double>(i.weight_bytes) /
                                       static_cast<double>(params)
                                 : 0.0;
  i.hyperparameters = Hyperparameters(c, w);
  att_.assign(static_cast<size_t>(threads) * c.seq_len, 0.0f);
}

LlamaModel::~LlamaModel() = default;

std::unique_ptr<KvCache> LlamaModel::NewKvCache(int32_t max_sequences) const {
  return std::make_unique<KvCache>(config(), max_sequences, kv_dtype_);
}

std::unique_ptr<KvSequence> LlamaModel::NewSequence(int32_t id) const {
  const LlamaConfig& c = config();
  return std::make_unique<KvSequence>(id, c.n_layers, c.kv_dim, c.seq_len,
                                      kv_dtype_);
}

absl::Status LlamaModel::ValidateItem(const ForwardItem& item) const {
  const LlamaConfig& c = config();
  if (item.seq == nullptr) {
    return absl::InvalidArgumentError("forward: sequence is null");
  }
  if (item.logits == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward: sequence ", item.seq->id(), ": logits output is null"));
  }
  if (item.seq->n_layers() != c.n_layers || item.seq->kv_dim() != c.kv_dim ||
      item.seq->max_size() != c.seq_len || item.seq->dtype() != kv_dtype_) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward: sequence ", item.seq->id(),
                     " was made for a model of a different shape"));
  }
  if (item.tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "forward: sequence ", item.seq->id(), ": no tokens to append"));
  }
  for (size_t t = 0; t < item.tokens.size(); ++t) {
    const int32_t id = item.tokens[t];
    if (id < 0 || id >= c.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward: sequence ", item.seq->id(), ": token id ", id, " at index ",
          t, " is outside [0, vocab_size = ", c.vocab_size, ")"));
    }
  }
  const int64_t end =
      static_cast<int64_t>(item.seq->size()) + item.tokens.size();
  if (end > c.seq_len) {
    return absl::OutOfRangeError(absl::StrCat(
        "forward: sequence ", item.seq->id(), ": appending ",
        item.tokens.size(), " tokens at position ", item.seq->size(),
        " exceeds the context length seq_len = ", c.seq_len));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> LlamaModel::Forward(
    KvSequence* seq, absl::Span<const int32_t> tokens) {
  std::vector<float> logits;
  ForwardItem item;
  item.seq = seq;
  item.tokens = tokens;
  item.logits = &logits;
  FM_RETURN_IF_ERROR(Forward(absl::MakeConstSpan(&item, 1)));
  return logits;
}

void LlamaModel::EnsureScratch(int64_t n_rows, int64_t n_out) {
  const LlamaConfig& c = config();
  if (n_rows > rows_capacity_) {
    const size_t r = static_cast<size_t>(n_rows);
    const size_t q_dim = static_cast<size_t>(c.q_dim);
    x_.resize(r * c.dim);
    xb_.resize(r * c.dim);
    xb2_.resize(r * c.dim);
    hb_.resize(r * c.hidden_dim);
    hb2_.resize(r * c.hidden_dim);
    q_.resize(r * q_dim);
    ao_.resize(r * q_dim);
    k_.resize(r * c.kv_dim);
    v_.resize(r * c.kv_dim);
    rope_cos_.resize(r * (c.rope_dim / 2));
    rope_sin_.resize(r * (c.rope_dim / 2));
    rope_cos_swa_.resize(r * (c.rope_dim / 2));
    rope_sin_swa_.resize(r * (c.rope_dim / 2));
    rows_capacity_ = n_rows;
  }
  if (n_out > out_capacity_) {
    xo_.resize(static_cast<size_t>(n_out) * c.dim);
    logits_.resize(static_cast<size_t>(n_out) * c.vocab_size);
    out_capacity_ = n_out;
  }
}

absl::Status LlamaModel::Forward(absl::Span<const ForwardItem> items) {
  std::set<const KvSequence*> seen;
  for (const ForwardItem& item : items) {
    FM_RETURN_IF_ERROR(ValidateItem(item));
    if (!seen.insert(item.seq).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward: sequence ", item.seq->id(), " appears twice in one batch"));
    }
  }
  const int32_t vocab_size = config().vocab_size;
  std::vector<Row> rows;
  for (size_t i = 0; i < items.size(); ++i) {
    const ForwardItem& item = items[i];
    const int64_t n = static_cast<int64_t>(item.tokens.size());
    const int64_t n_out = item.all_logits ? n : 1;
    item.logits->assign(static_cast<size_t>(n_out) * vocab_size, 0.0f);
    item.seq->Reserve(item.seq->size() + static_cast<int32_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      int64_t out = -1;
      if (item.all_logits) {
        out = t;
      } else if (t == n - 1) {
        out = 0;
      }
      rows.push_back(Row{static_cast<int32_t>(i),
                         item.seq->size() + static_cast<int32_t>(t),
                         item.tokens[t], out});
    }
  }
  for (size_t b = 0; b < rows.size(); b += kMaxRowsPerPass) {
    const size_t e = std::min(rows.size(), b + kMaxRowsPerPass);
    RunPass(absl::MakeConstSpan(rows.data() + b, e - b), items);
  }
  for (const ForwardItem& item : items) {
    item.seq->SetSize(item.seq->size() +
                      static_cast<int32_t>(item.tokens.size()));
  }
  return absl::OkStatus();
}

void LlamaModel::RunPass(absl::Span<const Row> rows,
                         absl::Span<const ForwardItem> items) {
  const LlamaConfig& c = config();
  const LlamaWeights& w = weights();
  const int64_t n = static_cast<int64_t>(rows.size());
  int64_t n_out = 0;
  for (const Row& row : rows) n_out += row.out >= 0 ? 1 : 0;
  EnsureScratch(n, n_out);

  const int64_t dim = c.dim;
  const int64_t kv_dim = c.kv_dim;
  const int64_t head_size = c.head_size;
  const int64_t q_dim = c.q_dim;
  const int64_t half_rope = c.rope_dim / 2;
  const int32_t kv_mul = c.n_heads / c.n_kv_heads;  // integer multiplier
  const float query_scale = c.QueryScale();
  const float* rope_factors = w.rope_freqs.present() ? w.rope_freqs.f32()
                                                     : nullptr;

  float* x = x_.data();      // (n, dim)
  float* xb = xb_.data();    // (n, dim)
  float* xb2 = xb2_.data();  // (n, dim)
  float* hb = hb_.data();    // (n, hidden_dim)
  float* hb2 = hb2_.data();  // (n, hidden_dim)
  float* q = q_.data();      // (n, q_dim)
  float* k = k_.data();      // (n, kv_dim)
  float* v = v_.data();      // (n, kv_dim)
  float* ao = ao_.data();    // (n, q_dim) attention output, all heads

  // Copy the token embeddings into x (scaled, for Gemma); RoPE angles for
  // each row's position, and separate ones for the sliding-window layers
  // only where they rotate differently (Gemma 3's local base).
  const bool own_swa_rope = c.sliding_window > 0 &&
                            (c.rope_theta_swa != c.rope_theta ||
                             c.rope_scale_swa != c.rope_scale);
  for (int64_t r = 0; r < n; ++r) {
    ReadRow(w.token_embedding, rows[r].token, x + r * dim);
    if (c.embedding_scale != 1.0f) {
      for (int64_t i = 0; i < dim; ++i) x[r * dim + i] *= c.embedding_scale;
    }
    RopeTable(rows[r].pos, c.rope_dim, c.rope_theta, c.rope_scale,
              rope_factors, rope_cos_.data() + r * half_rope,
              rope_sin_.data() + r * half_rope);
    if (own_swa_rope) {
      RopeTable(rows[r].pos, c.rope_dim, c.rope_theta_swa, c.rope_scale_swa,
                rope_factors, rope_cos_swa_.data() + r * half_rope,
                rope_sin_swa_.data() + r * half_rope);
    }
  }

  // Forward all the layers.
  for (int32_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const bool sliding = c.LayerIsSliding(l);

    // Attention rmsnorm.
    for (int64_t r = 0; r < n; ++r) {
      RmsNorm(xb + r * dim, x + r * dim, lw.rms_att.f32(), dim, c.rms_eps);
    }

    // qkv matmuls for all rows (plus biases: Qwen 2).
    MatMulMulti({{&lw.wq, q}, {&lw.wk, k}, {&lw.wv, v}}, xb, n, &matmul_);
    if (c.qkv_bias) {
      for (int64_t r = 0; r < n; ++r) {
        AddBias(q + r * q_dim, lw.bq.f32(), q_dim);
        AddBias(k + r * kv_dim, lw.bk.f32(), kv_dim);
        AddBias(v + r * kv_dim, lw.bv.f32(), kv_dim);
      }
    }

    // Per-head RMSNorm of q and k (Qwen 3, Gemma 3), RoPE relative
    // positional encoding, then k and v into the kv cache at each row's
    // position (all rows first, so that a prefill row can attend to the
    // earlier rows of its own sequence).
    const bool swa_rope = sliding && own_swa_rope;
    const float* cos_all = swa_rope ? rope_cos_swa_.data() : rope_cos_.data();
    const float* sin_all = swa_rope ? rope_sin_swa_.data() : rope_sin_.data();
    for (int64_t r = 0; r < n; ++r) {
      float* qr = q + r * q_dim;
      float* kr = k + r * kv_dim;
      if (c.qk_norm) {
        for (int32_t h = 0; h < c.n_heads; ++h) {
          RmsNorm(qr + h * head_size, qr + h * head_size, lw.q_norm.f32(),
                  head_size, c.rms_eps);
        }
        for (int32_t h = 0; h < c.n_kv_heads; ++h) {
          RmsNorm(kr + h * head_size, kr + h * head_size, lw.k_norm.f32(),
                  head_size, c.rms_eps);
        }
      }
      const float* cos_t = cos_all + r * half_rope;
      const float* sin_t = sin_all + r * half_rope;
      ApplyRope(qr, c.n_heads, c.head_size, c.rope_dim, c.rope_style, cos_t,
                sin_t);
      ApplyRope(kr, c.n_kv_heads, c.head_size, c.rope_dim, c.rope_style, cos_t,
                sin_t);
      items[rows[r].item].seq->Store(l, rows[r].pos, kr, v + r * kv_dim);
    }

    // Multihead attention: every (row, head) pair independently, over the
    // positions the layer sees (all earlier ones, or the sliding window).
    pool_->ParallelFor(
        n * c.n_heads, 1, [&](int64_t begin, int64_t end, int thread) {
          float* att = att_.data() + static_cast<int64_t>(thread) * c.seq_len;
          for (int64_t rh = begin; rh < end; ++rh) {
            const int64_t r = rh / c.n_heads;
            const int32_t h = static_cast<int32_t>(rh % c.n_heads);
            const int32_t pos = rows[r].pos;
            const int32_t first =
                sliding ? std::max(0, pos - c.sliding_window + 1) : 0;
            const int32_t n_pos = pos - first + 1;
            KvSequence* seq = items[rows[r].item].seq;
            const float* qh = q + r * q_dim + h * head_size;
            const int64_t kv_off = (h / kv_mul) * head_size;
            float* out = ao + r * q_dim + h * head_size;
            // Attention scores for timesteps first..pos, then the weighted
            // sum of the values into ao (from the cache's dtype).
            if (kv_dtype_ == KvDType::kF16) {
              AttentionScoresF16(qh, seq->key_f16(l, first) + kv_off, kv_dim,
                                 n_pos, head_size, query_scale, att);
            } else {
              AttentionScores(qh, seq->key_f32(l, first) + kv_off, kv_dim,
                              n_pos, head_size, query_scale, att);
            }
            if (c.attn_softcap > 0.0f) SoftCap(att, n_pos, c.attn_softcap);
            Softmax(att, n_pos);
            if (kv_dtype_ == KvDType::kF16) {
              AttentionMixF16(att, seq->value_f16(l, first) + kv_off, kv_dim,
                              n_pos, head_size, out);
            } else {
              AttentionMix(att, seq->value_f32(l, first) + kv_off, kv_dim,
                           n_pos, head_size, out);
            }
          }
        });

    // Final matmul to get the output of the attention (post-norm: Gemma),
    // then the residual.
    MatMul(lw.wo, ao, n, xb2, &matmul_);
    if (c.post_norms) {
      for (int64_t r = 0; r < n; ++r) {
        RmsNorm(xb2 + r * dim, xb2 + r * dim, lw.rms_post_att.f32(), dim,
                c.rms_eps);
      }
    }
    for (int64_t i = 0; i < n * dim; ++i) x[i] += xb2[i];

    // FFN rmsnorm.
    for (int64_t r = 0; r < n; ++r) {
      RmsNorm(xb + r * dim, x + r * dim, lw.rms_ffn.f32(), dim, c.rms_eps);
    }

    // w2(act(w1(x)) * w3(x)): SwiGLU, or GeGLU for Gemma.
    MatMulGated(lw.w1, lw.w3, c.ffn_activation, xb, n, hb, hb2, &matmul_);
    MatMul(lw.w2, hb, n, xb, &matmul_);
    if (c.post_norms) {
      for (int64_t r = 0; r < n; ++r) {
        RmsNorm(xb + r * dim, xb + r * dim, lw.rms_post_ffn.f32(), dim,
                c.rms_eps);
      }
    }

    // Residual connection.
    for (int64_t i = 0; i < n * dim; ++i) x[i] += xb[i];
  }

  if (n_out == 0) return;
  // Final rmsnorm of the rows that want logits, then the classifier
  // (soft-capped: Gemma 2).
  float* xo = xo_.data();  // (n_out, dim)
  int64_t j = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (rows[r].out < 0) continue;
    RmsNorm(xo + j * dim, x + r * dim, w.rms_final.f32(), dim, c.rms_eps);
    ++j;
  }
  float* logits = logits_.data();  // (n_out, vocab_size)
  MatMul(w.wcls, xo, n_out, logits, &matmul_);
  if (c.final_softcap > 0.0f) {
    SoftCap(logits, n_out * c.vocab_size, c.final_softcap);
  }
  j = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (rows[r].out < 0) continue;
    std::vector<float>* dst = items[rows[r].item].logits;
    std::memcpy(dst->data() + rows[r].out * c.vocab_size,
                logits + j * c.vocab_size, sizeof(float) * c.vocab_size);
    ++j;
  }
}

}  // namespace fm::model
