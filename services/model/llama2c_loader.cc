// llama2.c checkpoints: header parse, then the float walk of run.c's
// memory_map_weights, every offset checked against the file size in 64 bits.
#include "services/model/llama2c_loader.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/byte_reader.h"

namespace fm::model {
namespace {

// export.py version1_export pads its header to 256 bytes.
constexpr uint64_t kV1HeaderBytes = 256;

// Walks the float array after the header, handing out tensor views.
class FloatWalker {
 public:
  FloatWalker(const uint8_t* data, uint64_t file_size, uint64_t offset)
      : data_(data), file_size_(file_size), offset_(offset) {}

  // The next rows * cols floats as one tensor named `name`.
  absl::Status Take(const std::string& name, uint64_t rows, uint64_t cols,
                    Tensor* out) {
    uint64_t elems, bytes, end;
    if (MulOverflow(rows, cols, &elems) || MulOverflow(elems, 4, &bytes) ||
        AddOverflow(offset_, bytes, &end)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", name, ": size ", rows, " x ", cols, " overflows"));
    }
    if (end > file_size_) {
      return absl::DataLossError(absl::StrCat(
          "tensor ", name, " (", elems, " floats at offset ", offset_,
          ") extends past the end of the file (", file_size_, " bytes)"));
    }
    out->dtype = DType::kF32;
    out->data = data_ + offset_;
    out->rows = static_cast<int64_t>(rows);
    out->cols = static_cast<int64_t>(cols);
    offset_ = end;
    return absl::OkStatus();
  }

  // One (n_layers, rows, cols) block split into per-layer views.
  absl::Status TakeLayers(const char* name, std::vector<LayerWeights>* layers,
                          Tensor LayerWeights::*member, uint64_t rows,
                          uint64_t cols) {
    for (size_t l = 0; l < layers->size(); ++l) {
      FM_RETURN_IF_ERROR(Take(absl::StrCat(name, " (layer ", l, ")"), rows,
                              cols, &((*layers)[l].*member)));
    }
    return absl::OkStatus();
  }

  absl::Status Skip(const char* name, uint64_t floats) {
    Tensor ignored;
    return Take(name, 1, floats, &ignored);
  }

  uint64_t offset() const { return offset_; }

 private:
  const uint8_t* data_;
  uint64_t file_size_;
  uint64_t offset_;
};

absl::Status ReadHeaderInts(ByteReader* r, int32_t v[7]) {
  static const char* const kNames[7] = {"dim",     "hidden_dim", "n_layers",
                                        "n_heads", "n_kv_heads", "vocab_size",
                                        "seq_len"};
  for (int i = 0; i < 7; ++i) {
    FM_RETURN_IF_ERROR(
        r->Read(absl::StrCat("llama2.c header field ", kNames[i]), &v[i]));
  }
  return absl::OkStatus();
}

}  // namespace

bool HasLlama2cMagic(const uint8_t* data, uint64_t size) {
  if (size < 4) return false;
  uint32_t magic = 0;
  std::memcpy(&magic, data, 4);
  return magic == kLlama2cMagic;
}

absl::Status LoadLlama2c(Checkpoint* ckpt) {
  const uint8_t* data = ckpt->file->data();
  const uint64_t size = ckpt->file->size();
  ByteReader r(data, size);
  const bool v1 = HasLlama2cMagic(data, size);
  int32_t h[7] = {};
  bool shared_classifier;
  uint64_t weights_offset;
  if (v1) {
    uint32_t magic = 0;
    int32_t version = 0;
    FM_RETURN_IF_ERROR(r.Read("llama2.c magic", &magic));
    FM_RETURN_IF_ERROR(r.Read("llama2.c header field version", &version));
    if (version != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "llama2.c checkpoint version ", version,
          " is not supported (only version 1, fp32, after the ak42 magic)"));
    }
    FM_RETURN_IF_ERROR(ReadHeaderInts(&r, h));
    uint8_t shared = 0;
    FM_RETURN_IF_ERROR(
        r.Read("llama2.c header field shared_classifier", &shared));
    if (shared > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("llama2.c header field shared_classifier = ",
                       static_cast<int>(shared), " is not 0 or 1"));
    }
    shared_classifier = shared == 1;
    if (size < kV1HeaderBytes) {
      return r.Truncated("llama2.c v1 header padding",
                         kV1HeaderBytes - r.offset());
    }
    weights_offset = kV1HeaderBytes;
    ckpt->format = "llama2c-v1";
  } else {
    FM_RETURN_IF_ERROR(ReadHeaderInts(&r, h));
    // llama2.c: "a bit yikes": a negative vocab_size means that the
    // classifier is stored separately after the other weights.
    shared_classifier = h[5] > 0;
    weights_offset = r.offset();
    ckpt->format = "llama2c-v0";
  }
  const int64_t vocab = h[5] < 0 ? -static_cast<int64_t>(h[5]) : h[5];
  LlamaConfig& c = ckpt->config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.vocab_size = vocab > kMaxVocabSize ? -1 : static_cast<int32_t>(vocab);
  c.seq_len = h[6];
  c.rope_dim = 0;
  c.rope_theta = 10000.0f;
  c.rms_eps = 1e-5f;
  c.DeriveSizes();
  if (absl::Status s = c.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(v1 ? "llama2.c v1 header: "
                        : "not a GGUF or llama2.c v1 file (no magic), and "
                          "invalid as a legacy llama2.c header: ",
                     s.message()));
  }

  LlamaWeights& w = ckpt->weights;
  w.layers.resize(c.n_layers);
  const uint64_t dim = c.dim, hidden = c.hidden_dim, kv_dim = c.kv_dim;
  const uint64_t q_dim = static_cast<uint64_t>(c.n_heads) * c.head_size;
  FloatWalker walk(data, size, weights_offset);
  if (v1) {
    // export.py version1_export order: norms first, then the matrices.
    FM_RETURN_IF_ERROR(
        walk.TakeLayers("rms_att", &w.layers, &LayerWeights::rms_att, 1, dim));
    FM_RETURN_IF_ERROR(
        walk.TakeLayers("rms_ffn", &w.layers, &LayerWeights::rms_ffn, 1, dim));
    FM_RETURN_IF_ERROR(walk.Take("rms_final", 1, dim, &w.rms_final));
    FM_RETURN_IF_ERROR(
        walk.Take("token_embedding", c.vocab_size, dim, &w.token_embedding));
  } else {
    // run.c memory_map_weights order.
    FM_RETURN_IF_ERROR(
        walk.Take("token_embedding", c.vocab_size, dim, &w.token_embedding));
    FM_RETURN_IF_ERROR(
        walk.TakeLayers("rms_att", &w.layers, &LayerWeights::rms_att, 1, dim));
  }
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("wq", &w.layers, &LayerWeights::wq, q_dim, dim));
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("wk", &w.layers, &LayerWeights::wk, kv_dim, dim));
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("wv", &w.layers, &LayerWeights::wv, kv_dim, dim));
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("wo", &w.layers, &LayerWeights::wo, dim, q_dim));
  if (!v1) {
    FM_RETURN_IF_ERROR(
        walk.TakeLayers("rms_ffn", &w.layers, &LayerWeights::rms_ffn, 1, dim));
  }
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("w1", &w.layers, &LayerWeights::w1, hidden, dim));
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("w2", &w.layers, &LayerWeights::w2, dim, hidden));
  FM_RETURN_IF_ERROR(
      walk.TakeLayers("w3", &w.layers, &LayerWeights::w3, hidden, dim));
  if (!v1) {
    FM_RETURN_IF_ERROR(walk.Take("rms_final", 1, dim, &w.rms_final));
    // freq_cis_real and freq_cis_imag, (seq_len, head_size / 2) each:
    // RoPE is recomputed, as run.c does.
    FM_RETURN_IF_ERROR(
        walk.Skip("freq_cis", static_cast<uint64_t>(c.seq_len) * c.head_size));
  }
  w.shared_classifier = shared_classifier;
  if (shared_classifier) {
    w.wcls = w.token_embedding;
  } else {
    FM_RETURN_IF_ERROR(walk.Take("wcls", c.vocab_size, dim, &w.wcls));
  }
  if (walk.offset() != size) {
    return absl::DataLossError(absl::StrCat(
        "llama2.c checkpoint has ", size - walk.offset(),
        " bytes after the last tensor (expected size ", walk.offset(),
        ", file has ", size, "): the header does not match the weights"));
  }
  ckpt->file_dtype = "F32";
  return absl::OkStatus();
}

}  // namespace fm::model
