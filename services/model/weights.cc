// Tensor sizes and the shape check that every loader's output goes through,
// so that the forward pass can trust every view it reads.
#include "services/model/weights.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace fm::model {

uint64_t Tensor::bytes() const {
  return DTypeBytes(dtype, static_cast<uint64_t>(elements()));
}

uint64_t Tensor::row_bytes() const {
  return DTypeBytes(dtype, static_cast<uint64_t>(cols));
}

std::vector<const Tensor*> LayerTensors(const LayerWeights& l) {
  std::vector<const Tensor*> out;
  for (const Tensor* t :
       {&l.rms_att, &l.wq, &l.wk, &l.wv, &l.bq, &l.bk, &l.bv, &l.q_norm,
        &l.k_norm, &l.wo, &l.rms_post_att, &l.rms_ffn, &l.w1, &l.w2, &l.w3,
        &l.rms_post_ffn}) {
    if (t->present()) out.push_back(t);
  }
  return out;
}

namespace {

// What a tensor may be: a matrix (F32 or any block type whose block divides
// its rows) or a vector (F32 only: norms, biases and factors are read as
// floats directly).
enum class Kind { kMatrix, kVector };

absl::Status Check(const std::string& name, const Tensor& t, int64_t rows,
                   int64_t cols, Kind kind) {
  if (t.rows != rows || t.cols != cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has shape (", t.rows, ", ", t.cols,
                     "), expected (", rows, ", ", cols, ")"));
  }
  if (t.data == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has no data"));
  }
  if (t.dtype == DType::kF32) return absl::OkStatus();
  if (kind == Kind::kMatrix &&
      (t.dtype == DType::kF16 || t.dtype == DType::kBF16)) {
    return absl::OkStatus();  // multiplied as stored (half_kernel.h)
  }
  if (kind == Kind::kMatrix && IsQuantized(t.dtype)) {
    const int64_t block = DTypeBlockElements(t.dtype);
    if (cols % block != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", name, " is ", DTypeName(t.dtype), " but its row length ",
          cols, " is not a multiple of its block size ", block));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "tensor ", name, " has unsupported dtype ", DTypeName(t.dtype),
      kind == Kind::kVector ? " (vectors must be F32)" : ""));
}

// An optional tensor: checked when the architecture has it, refused when
// it does not (a file with extra tensors would compute something else).
absl::Status CheckOptional(const std::string& name, const Tensor& t,
                           bool expected, int64_t rows, int64_t cols,
                           Kind kind) {
  if (expected) return Check(name, t, rows, cols, kind);
  if (t.present()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name,
                     " is present, but the architecture has no such tensor"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateWeights(const LlamaConfig& c, const LlamaWeights& w) {
  if (static_cast<int64_t>(w.layers.size()) != c.n_layers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weights have ", w.layers.size(), " layers, config says ", c.n_layers));
  }
  const int64_t q_dim = c.q_dim;
  if (auto s = Check("token_embedding", w.token_embedding, c.vocab_size, c.dim,
                     Kind::kMatrix);
      !s.ok())
    return s;
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string p = absl::StrCat("layer ", l, " ");
    struct Item {
      const char* name;
      const Tensor* t;
      bool expected;
      int64_t rows, cols;
      Kind kind;
    } items[] = {
        {"rms_att", &lw.rms_att, true, 1, c.dim, Kind::kVector},
        {"wq", &lw.wq, true, q_dim, c.dim, Kind::kMatrix},
        {"wk", &lw.wk, true, c.kv_dim, c.dim, Kind::kMatrix},
        {"wv", &lw.wv, true, c.kv_dim, c.dim, Kind::kMatrix},
        {"bq", &lw.bq, c.qkv_bias, 1, q_dim, Kind::kVector},
        {"bk", &lw.bk, c.qkv_bias, 1, c.kv_dim, Kind::kVector},
        {"bv", &lw.bv, c.qkv_bias, 1, c.kv_dim, Kind::kVector},
        {"q_norm", &lw.q_norm, c.qk_norm, 1, c.head_size, Kind::kVector},
        {"k_norm", &lw.k_norm, c.qk_norm, 1, c.head_size, Kind::kVector},
        {"wo", &lw.wo, true, c.dim, q_dim, Kind::kMatrix},
        {"rms_post_att", &lw.rms_post_att, c.post_norms, 1, c.dim,
         Kind::kVector},
        {"rms_ffn", &lw.rms_ffn, true, 1, c.dim, Kind::kVector},
        {"w1", &lw.w1, true, c.hidden_dim, c.dim, Kind::kMatrix},
        {"w2", &lw.w2, true, c.dim, c.hidden_dim, Kind::kMatrix},
        {"w3", &lw.w3, true, c.hidden_dim, c.dim, Kind::kMatrix},
        {"rms_post_ffn", &lw.rms_post_ffn, c.post_norms, 1, c.dim,
         Kind::kVector},
    };
    for (const Item& it : items) {
      if (auto s = CheckOptional(p + it.name, *it.t, it.expected, it.rows,
                                 it.cols, it.kind);
          !s.ok())
        return s;
    }
  }
  if (auto s = Check("rms_final", w.rms_final, 1, c.dim, Kind::kVector);
      !s.ok())
    return s;
  if (w.rope_freqs.present()) {
    if (auto s = Check("rope_freqs", w.rope_freqs, 1, c.rope_dim / 2,
                       Kind::kVector);
        !s.ok())
      return s;
    // Llama 3's divisors must be usable: finite and in (0, 1e4] (the
    // published ones are 1..8; a zero would make the angle infinite).
    for (int64_t i = 0; i < w.rope_freqs.cols; ++i) {
      const float v = w.rope_freqs.f32()[i];
      if (!std::isfinite(v) || v <= 0.0f || v > 1e4f) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor rope_freqs.weight[", i, "] = ", v,
                         " is outside (0, 10000]"));
      }
    }
  }
  return Check("wcls", w.wcls, c.vocab_size, c.dim, Kind::kMatrix);
}

}  // namespace fm::model
