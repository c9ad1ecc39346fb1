// GGUF for the model: the shared reader (common/gguf) parses the file;
// here its tensors are mapped to DTypes and checked to lie in the file, and
// llama.* keys and blk.N.* tensors fill LlamaConfig/LlamaWeights.
#include "services/model/gguf_loader.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/byte_reader.h"
#include "common/gguf/gguf_file.h"
#include "services/model/quant.h"

namespace fm::model {
namespace {

absl::StatusOr<DType> TensorType(const std::string& name, uint32_t type) {
  switch (type) {
    case 0:
      return DType::kF32;
    case 1:
      return DType::kF16;
    case 8:
      return DType::kQ8_0;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", name, " has ggml type ", type,
          ", which is not supported (F32 = 0, F16 = 1, Q8_0 = 8)"));
  }
}

}  // namespace

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<GgufFile> ParseGguf(const uint8_t* data, uint64_t size) {
  FM_ASSIGN_OR_RETURN(gguf::File parsed, gguf::Parse(data, size));
  GgufFile f;
  f.version = parsed.version;
  f.data_offset = parsed.data_offset;
  f.tensors.reserve(parsed.tensors.size());
  for (const gguf::TensorEntry& entry : parsed.tensors) {
    const std::string field = absl::StrCat("tensor ", entry.name);
    GgufTensorInfo info;
    info.name = entry.name;
    info.ne = entry.ne;
    info.offset = entry.offset;
    FM_ASSIGN_OR_RETURN(info.dtype, TensorType(entry.name, entry.ggml_type));
    if (info.dtype == DType::kQ8_0 && info.ne[0] % kQ8BlockSize != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " is Q8_0 but ne[0] = ", info.ne[0],
                       " is not a multiple of ", kQ8BlockSize));
    }
    uint64_t elems = 1;
    for (uint64_t ne : info.ne) elems *= ne;  // checked by gguf::Parse
    info.nbytes = DTypeBytes(info.dtype, elems);
    if (info.nbytes == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": byte size of ", elems, " elements overflows"));
    }
    uint64_t begin, end;
    if (AddOverflow(f.data_offset, info.offset, &begin) ||
        AddOverflow(begin, info.nbytes, &end) || end > size) {
      return absl::DataLossError(absl::StrCat(
          "tensor ", info.name, " data (", info.nbytes,
          " bytes at data offset ", info.offset, ") is not within the file (",
          size, " bytes): the model is corrupted or incomplete"));
    }
    info.data = data + begin;
    f.tensors.push_back(std::move(info));
  }
  f.kv = std::move(parsed.kv);
  return f;
}

namespace {

// Reads an integer metadata key (any integer type) into [1, max].
absl::Status GetInt(const GgufFile& f, const std::string& key, bool required,
                    int64_t max, int32_t* out) {
  auto it = f.kv.find(key);
  if (it == f.kv.end()) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", key, "' is missing"));
  }
  const gguf::Value& v = it->second;
  if (v.type == gguf::kString || v.type == gguf::kArray || v.type == gguf::kFloat32 ||
      v.type == gguf::kFloat64 || v.type == gguf::kBool) {
    return absl::InvalidArgumentError(absl::StrCat("GGUF metadata '", key,
                                                   "' has type ", v.type,
                                                   ", expected an integer"));
  }
  if (v.i <= 0 || v.i > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", key, "' = ", v.i, " is outside [1, ", max, "]"));
  }
  *out = static_cast<int32_t>(v.i);
  return absl::OkStatus();
}

absl::Status GetFloat(const GgufFile& f, const std::string& key, float* out) {
  auto it = f.kv.find(key);
  if (it == f.kv.end()) return absl::OkStatus();
  const gguf::Value& v = it->second;
  if (v.type != gguf::kFloat32 && v.type != gguf::kFloat64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", key, "' has type ", v.type, ", expected a float"));
  }
  if (!std::isfinite(v.f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", key, "' is not finite"));
  }
  *out = static_cast<float>(v.f);
  return absl::OkStatus();
}

class TensorMapper {
 public:
  TensorMapper(const GgufFile& f, Checkpoint* ckpt) : f_(f), ckpt_(ckpt) {}

  // Views tensor `name` as (rows, cols) = (ne[1], ne[0]) (or (1, ne[0]) for
  // a vector); F16 is converted to an owned F32 buffer.
  absl::Status Map(const std::string& name, bool required, Tensor* out) {
    const GgufTensorInfo* t = f_.FindTensor(name);
    if (t == nullptr) {
      if (!required) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF tensor ", name, " is missing"));
    }
    if (t->ne.size() > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", name, " has ", t->ne.size(),
                       " dimensions, expected 1 or 2"));
    }
    out->cols = static_cast<int64_t>(t->ne[0]);
    out->rows = t->ne.size() == 2 ? static_cast<int64_t>(t->ne[1]) : 1;
    out->dtype = t->dtype;
    out->data = t->data;
    if (t->dtype == DType::kF16) {
      // Bounded by the file size: the F16 data was checked to be in it.
      const int64_t n = out->rows * out->cols;
      auto buf = std::unique_ptr<float[]>(new float[n]);
      std::vector<uint16_t> tmp(n);
      std::memcpy(tmp.data(), t->data, n * sizeof(uint16_t));
      F16ToF32Row(tmp.data(), buf.get(), n);
      out->dtype = DType::kF32;
      out->data = buf.get();
      ckpt_->owned.push_back(std::move(buf));
    }
    return absl::OkStatus();
  }

 private:
  const GgufFile& f_;
  Checkpoint* ckpt_;
};

}  // namespace

absl::Status LoadGguf(Checkpoint* ckpt) {
  FM_ASSIGN_OR_RETURN(GgufFile f,
                      ParseGguf(ckpt->file->data(), ckpt->file->size()));
  ckpt->format = absl::StrCat("gguf-v", f.version);
  auto arch = f.kv.find("general.architecture");
  if (arch == f.kv.end() || arch->second.type != gguf::kString) {
    return absl::InvalidArgumentError(
        "GGUF metadata 'general.architecture' is missing or not a string");
  }
  if (arch->second.str != "llama") {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF architecture '", arch->second.str,
                     "' is not supported (only 'llama')"));
  }
  const GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) {
    return absl::InvalidArgumentError(
        "GGUF tensor token_embd.weight is missing");
  }
  if (embd->ne.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor token_embd.weight has ", embd->ne.size(),
                     " dimensions, expected 2"));
  }
  LlamaConfig& c = ckpt->config;
  FM_RETURN_IF_ERROR(
      GetInt(f, "llama.embedding_length", true, kMaxDim, &c.dim));
  FM_RETURN_IF_ERROR(GetInt(f, "llama.feed_forward_length", true, kMaxHiddenDim,
                            &c.hidden_dim));
  FM_RETURN_IF_ERROR(
      GetInt(f, "llama.block_count", true, kMaxLayers, &c.n_layers));
  FM_RETURN_IF_ERROR(
      GetInt(f, "llama.attention.head_count", true, kMaxHeads, &c.n_heads));
  c.n_kv_heads = c.n_heads;
  FM_RETURN_IF_ERROR(GetInt(f, "llama.attention.head_count_kv", false,
                            kMaxHeads, &c.n_kv_heads));
  FM_RETURN_IF_ERROR(
      GetInt(f, "llama.context_length", true, kMaxSeqLen, &c.seq_len));
  c.rope_dim = 0;
  FM_RETURN_IF_ERROR(
      GetInt(f, "llama.rope.dimension_count", false, kMaxDim, &c.rope_dim));
  c.rope_theta = 10000.0f;
  FM_RETURN_IF_ERROR(GetFloat(f, "llama.rope.freq_base", &c.rope_theta));
  c.rms_eps = 1e-5f;
  FM_RETURN_IF_ERROR(
      GetFloat(f, "llama.attention.layer_norm_rms_epsilon", &c.rms_eps));
  if (embd->ne[1] > static_cast<uint64_t>(kMaxVocabSize)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor token_embd.weight: vocab_size ", embd->ne[1],
                     " exceeds the limit ", kMaxVocabSize));
  }
  c.vocab_size = static_cast<int32_t>(embd->ne[1]);
  int32_t declared_vocab = c.vocab_size;
  FM_RETURN_IF_ERROR(
      GetInt(f, "llama.vocab_size", false, kMaxVocabSize, &declared_vocab));
  if (declared_vocab != c.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata 'llama.vocab_size' = ", declared_vocab,
        " does not match token_embd.weight's ", c.vocab_size, " rows"));
  }
  c.DeriveSizes();
  if (absl::Status s = c.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF llama metadata: ", s.message()));
  }

  LlamaWeights& w = ckpt->weights;
  TensorMapper m(f, ckpt);
  FM_RETURN_IF_ERROR(m.Map("token_embd.weight", true, &w.token_embedding));
  FM_RETURN_IF_ERROR(m.Map("output_norm.weight", true, &w.rms_final));
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& lw = w.layers[l];
    const std::string p = absl::StrCat("blk.", l, ".");
    FM_RETURN_IF_ERROR(m.Map(p + "attn_norm.weight", true, &lw.rms_att));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_q.weight", true, &lw.wq));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_k.weight", true, &lw.wk));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_v.weight", true, &lw.wv));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_output.weight", true, &lw.wo));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_norm.weight", true, &lw.rms_ffn));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_gate.weight", true, &lw.w1));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_down.weight", true, &lw.w2));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_up.weight", true, &lw.w3));
  }
  // No output.weight: the classifier is tied to the embedding.
  w.shared_classifier = f.FindTensor("output.weight") == nullptr;
  if (w.shared_classifier) {
    w.wcls = w.token_embedding;
  } else {
    FM_RETURN_IF_ERROR(m.Map("output.weight", true, &w.wcls));
  }
  // The dtype the file stores its layer matrices in (blk.0.attn_q).
  const GgufTensorInfo* q = f.FindTensor("blk.0.attn_q.weight");
  ckpt->file_dtype = std::string(DTypeName(q->dtype));
  return absl::OkStatus();
}

}  // namespace fm::model
