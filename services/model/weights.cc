// Tensor sizes and the shape check that every loader's output goes through,
// so that the forward pass can trust every view it reads.
#include "services/model/weights.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "services/model/quant.h"

namespace fm::model {

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kQ8_0:
      return "Q8_0";
  }
  return "UNKNOWN";
}

uint64_t DTypeBytes(DType dtype, uint64_t elements) {
  switch (dtype) {
    case DType::kF32:
      return elements > (UINT64_MAX / 4) ? 0 : elements * 4;
    case DType::kF16:
      return elements > (UINT64_MAX / 2) ? 0 : elements * 2;
    case DType::kQ8_0:
      if (elements % kQ8BlockSize != 0) return 0;
      return (elements / kQ8BlockSize) * sizeof(BlockQ8_0);
  }
  return 0;
}

uint64_t Tensor::bytes() const {
  return DTypeBytes(dtype, static_cast<uint64_t>(elements()));
}

namespace {

absl::Status Check(const std::string& name, const Tensor& t, int64_t rows,
                   int64_t cols, bool allow_quantized) {
  if (t.rows != rows || t.cols != cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has shape (", t.rows, ", ", t.cols,
                     "), expected (", rows, ", ", cols, ")"));
  }
  if (t.data == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has no data"));
  }
  switch (t.dtype) {
    case DType::kF32:
      return absl::OkStatus();
    case DType::kQ8_0:
      if (!allow_quantized) break;
      if (cols % kQ8BlockSize != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor ", name, " is Q8_0 but its row length ", cols,
                         " is not a multiple of ", kQ8BlockSize));
      }
      return absl::OkStatus();
    case DType::kF16:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "tensor ", name, " has unsupported dtype ", DTypeName(t.dtype),
      allow_quantized ? "" : " (norm weights must be F32)"));
}

}  // namespace

absl::Status ValidateWeights(const LlamaConfig& c, const LlamaWeights& w) {
  if (static_cast<int64_t>(w.layers.size()) != c.n_layers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weights have ", w.layers.size(), " layers, config says ", c.n_layers));
  }
  const int64_t q_dim = static_cast<int64_t>(c.n_heads) * c.head_size;
  if (auto s = Check("token_embedding", w.token_embedding, c.vocab_size, c.dim,
                     true);
      !s.ok())
    return s;
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string p = absl::StrCat("layer ", l, " ");
    struct Item {
      const char* name;
      const Tensor* t;
      int64_t rows, cols;
      bool quant;
    } items[] = {
        {"rms_att", &lw.rms_att, 1, c.dim, false},
        {"wq", &lw.wq, q_dim, c.dim, true},
        {"wk", &lw.wk, c.kv_dim, c.dim, true},
        {"wv", &lw.wv, c.kv_dim, c.dim, true},
        {"wo", &lw.wo, c.dim, q_dim, true},
        {"rms_ffn", &lw.rms_ffn, 1, c.dim, false},
        {"w1", &lw.w1, c.hidden_dim, c.dim, true},
        {"w2", &lw.w2, c.dim, c.hidden_dim, true},
        {"w3", &lw.w3, c.hidden_dim, c.dim, true},
    };
    for (const Item& it : items) {
      if (auto s = Check(p + it.name, *it.t, it.rows, it.cols, it.quant);
          !s.ok())
        return s;
    }
  }
  if (auto s = Check("rms_final", w.rms_final, 1, c.dim, false); !s.ok())
    return s;
  return Check("wcls", w.wcls, c.vocab_size, c.dim, true);
}

}  // namespace fm::model
