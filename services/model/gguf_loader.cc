// GGUF for the model: the shared reader (common/gguf) parses the file;
// here its tensors are mapped to DTypes and checked to lie in the file, the
// architecture's keys fill LlamaConfig (architectures.h), and the blk.N.*
// tensors LlamaWeights: every tensor of the file must be used.
#include "services/model/gguf_loader.h"

#include <cstring>
#include <limits>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/byte_reader.h"
#include "common/gguf/gguf_file.h"
#include "services/model/architectures.h"
#include "services/model/dequantize.h"
#include "services/model/gguf_hparams.h"
#include "services/model/half_kernel.h"

namespace fm::model {
namespace {

absl::StatusOr<DType> TensorType(const std::string& name, uint32_t type) {
  DType dtype;
  if (!DTypeFromGgml(type, &dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", name, " has ggml type ", type,
        ", which is not supported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, "
        "Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)"));
  }
  return dtype;
}

}  // namespace

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<GgufFile> ParseGguf(const uint8_t* data, uint64_t size) {
  gguf::ParseOptions options;
  options.keep_arrays_up_to = kMaxLayers;  // per-layer hyperparameters
  FM_ASSIGN_OR_RETURN(gguf::File parsed, gguf::Parse(data, size, options));
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
    const int64_t block = DTypeBlockElements(info.dtype);
    if (info.ne.empty() || info.ne[0] % block != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " is ", DTypeName(info.dtype), " but ne[0] = ",
          info.ne.empty() ? 0 : info.ne[0], " is not a multiple of its block size ",
          block));
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

// Maps the file's tensors into weight views, remembering which were used.
class TensorMapper {
 public:
  TensorMapper(const GgufFile& f, Checkpoint* ckpt) : f_(f), ckpt_(ckpt) {}

  // Views tensor `name` as (rows, cols) = (ne[1], ne[0]) (or (1, ne[0]) for
  // a vector). F16 and BF16 matrices stay mapped when the half kernel runs
  // here and the data is 2-byte aligned; vectors (and matrices otherwise)
  // are converted to an owned F32 buffer (exact).
  // A missing tensor is an error when `required`, else leaves *out absent.
  absl::Status Map(const std::string& name, bool required, Tensor* out) {
    const GgufTensorInfo* t = f_.FindTensor(name);
    if (t == nullptr) {
      if (!required) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF tensor ", name, " is missing"));
    }
    used_.insert(name);
    if (t->ne.size() > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", name, " has ", t->ne.size(),
                       " dimensions, expected 1 or 2"));
    }
    out->cols = static_cast<int64_t>(t->ne[0]);
    out->rows = t->ne.size() == 2 ? static_cast<int64_t>(t->ne[1]) : 1;
    out->dtype = t->dtype;
    out->data = t->data;
    const bool half = t->dtype == DType::kF16 || t->dtype == DType::kBF16;
    const bool keep_mapped =
        half && out->rows > 1 && HasHalfKernel() &&
        reinterpret_cast<uintptr_t>(t->data) % alignof(uint16_t) == 0;
    if (half && !keep_mapped) {
      // Bounded by the file size: the data was checked to be in it.
      const int64_t n = out->rows * out->cols;
      auto buf = std::unique_ptr<float[]>(new float[n]);
      std::vector<uint16_t> tmp(n);  // the mapping may be unaligned
      std::memcpy(tmp.data(), t->data, n * sizeof(uint16_t));
      DequantizeRow(t->dtype, tmp.data(), buf.get(), n);
      out->dtype = DType::kF32;
      out->data = buf.get();
      ckpt_->owned.push_back(std::move(buf));
    }
    return absl::OkStatus();
  }

  // INVALID_ARGUMENT naming the first tensor of the file never mapped: a
  // weight this architecture does not have would be silently ignored.
  absl::Status CheckAllUsed(const std::string& arch) const {
    for (const GgufTensorInfo& t : f_.tensors) {
      if (used_.count(t.name) != 0) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF tensor ", t.name, " is not part of architecture '", arch,
          "' as implemented here: the model would compute something else"));
    }
    return absl::OkStatus();
  }

 private:
  const GgufFile& f_;
  Checkpoint* ckpt_;
  std::set<std::string> used_;
};

absl::Status MapWeights(const GgufFile& f, const LlamaConfig& c,
                        Checkpoint* ckpt) {
  LlamaWeights& w = ckpt->weights;
  TensorMapper m(f, ckpt);
  FM_RETURN_IF_ERROR(m.Map("token_embd.weight", true, &w.token_embedding));
  FM_RETURN_IF_ERROR(m.Map("output_norm.weight", true, &w.rms_final));
  FM_RETURN_IF_ERROR(m.Map("rope_freqs.weight", false, &w.rope_freqs));
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& lw = w.layers[l];
    const std::string p = absl::StrCat("blk.", l, ".");
    FM_RETURN_IF_ERROR(m.Map(p + "attn_norm.weight", true, &lw.rms_att));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_q.weight", true, &lw.wq));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_k.weight", true, &lw.wk));
    FM_RETURN_IF_ERROR(m.Map(p + "attn_v.weight", true, &lw.wv));
    // The architecture's optional tensors are required when it has them
    // and left unmapped otherwise (so CheckAllUsed names a stray one).
    if (c.qkv_bias) {
      FM_RETURN_IF_ERROR(m.Map(p + "attn_q.bias", true, &lw.bq));
      FM_RETURN_IF_ERROR(m.Map(p + "attn_k.bias", true, &lw.bk));
      FM_RETURN_IF_ERROR(m.Map(p + "attn_v.bias", true, &lw.bv));
    }
    if (c.qk_norm) {
      FM_RETURN_IF_ERROR(m.Map(p + "attn_q_norm.weight", true, &lw.q_norm));
      FM_RETURN_IF_ERROR(m.Map(p + "attn_k_norm.weight", true, &lw.k_norm));
    }
    FM_RETURN_IF_ERROR(m.Map(p + "attn_output.weight", true, &lw.wo));
    if (c.post_norms) {
      FM_RETURN_IF_ERROR(
          m.Map(p + "post_attention_norm.weight", true, &lw.rms_post_att));
    }
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_norm.weight", true, &lw.rms_ffn));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_gate.weight", true, &lw.w1));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_down.weight", true, &lw.w2));
    FM_RETURN_IF_ERROR(m.Map(p + "ffn_up.weight", true, &lw.w3));
    if (c.post_norms) {
      FM_RETURN_IF_ERROR(
          m.Map(p + "post_ffw_norm.weight", true, &lw.rms_post_ffn));
    }
  }
  // No output.weight: the classifier is tied to the embedding.
  w.shared_classifier = f.FindTensor("output.weight") == nullptr;
  if (w.shared_classifier) {
    w.wcls = w.token_embedding;
  } else {
    FM_RETURN_IF_ERROR(m.Map("output.weight", true, &w.wcls));
  }
  // Shapes, dtypes and the RoPE factors: ValidateWeights, by the caller.
  return m.CheckAllUsed(c.architecture);
}

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
  if (embd->ne[1] > static_cast<uint64_t>(kMaxVocabSize)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor token_embd.weight: vocab_size ", embd->ne[1],
                     " exceeds the limit ", kMaxVocabSize));
  }
  LlamaConfig& c = ckpt->config;
  c.vocab_size = static_cast<int32_t>(embd->ne[1]);
  GgufHparams hparams(f.kv, arch->second.str);
  FM_RETURN_IF_ERROR(ReadArchitecture(arch->second.str, &hparams, &c));
  FM_RETURN_IF_ERROR(MapWeights(f, c, ckpt));
  for (const GgufTensorInfo& t : f.tensors) {
    ++ckpt->tensor_types[std::string(DTypeName(t.dtype))];
  }
  // The dtype the file stores its layer matrices in (blk.0.attn_q).
  ckpt->file_dtype = std::string(
      DTypeName(f.FindTensor("blk.0.attn_q.weight")->dtype));
  return absl::OkStatus();
}

}  // namespace fm::model
