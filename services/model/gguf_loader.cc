// GGUF parsing with llama.cpp's bounds-checking discipline (every count,
// length and offset checked in 64 bits against the bytes left), then the
// mapping of llama.* keys and blk.N.* tensors onto LlamaConfig/LlamaWeights.
#include "services/model/gguf_loader.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/model/byte_reader.h"
#include "services/model/quant.h"

namespace fm::model {
namespace {

absl::Status ReadString(ByteReader* r, const std::string& field,
                        std::string* out) {
  uint64_t len = 0;
  FM_RETURN_IF_ERROR(r->Read(field + " length", &len));
  if (len > kGgufMaxStringLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": string length ",
                                                   len, " exceeds the limit ",
                                                   kGgufMaxStringLength));
  }
  const uint8_t* bytes = nullptr;
  FM_RETURN_IF_ERROR(r->ReadBytes(field, len, &bytes));
  out->assign(reinterpret_cast<const char*>(bytes), len);
  return absl::OkStatus();
}

// Size of a fixed-size scalar type, 0 for string/array/unknown.
uint64_t ScalarSize(uint32_t type) {
  switch (type) {
    case kGgufUint8:
    case kGgufInt8:
    case kGgufBool:
      return 1;
    case kGgufUint16:
    case kGgufInt16:
      return 2;
    case kGgufUint32:
    case kGgufInt32:
    case kGgufFloat32:
      return 4;
    case kGgufUint64:
    case kGgufInt64:
    case kGgufFloat64:
      return 8;
    default:
      return 0;
  }
}

absl::Status ReadScalar(ByteReader* r, const std::string& field, uint32_t type,
                        GgufValue* v) {
  switch (type) {
    case kGgufUint8: {
      uint8_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kGgufBool: {
      uint8_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      if (x > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": bool value ", x, " is not 0 or 1"));
      }
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kGgufInt8: {
      int8_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kGgufUint16: {
      uint16_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kGgufInt16: {
      int16_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kGgufUint32: {
      uint32_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kGgufInt32: {
      int32_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kGgufUint64: {
      uint64_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? -1
                 : static_cast<int64_t>(x);
      return absl::OkStatus();
    }
    case kGgufInt64: {
      int64_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kGgufFloat32: {
      float x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->f = x;
      return absl::OkStatus();
    }
    case kGgufFloat64: {
      double x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->f = x;
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": unknown value type ", type));
  }
}

absl::Status ReadValue(ByteReader* r, const std::string& field, uint32_t type,
                       bool keep_string_arrays, GgufValue* v) {
  v->type = type;
  if (type == kGgufString) return ReadString(r, field, &v->str);
  if (type != kGgufArray) return ReadScalar(r, field, type, v);
  FM_RETURN_IF_ERROR(r->Read(field + " array type", &v->array_type));
  FM_RETURN_IF_ERROR(r->Read(field + " array length", &v->array_len));
  if (v->array_type == kGgufString) {
    // Each string needs at least its 8-byte length.
    if (v->array_len > r->remaining() / 8) {
      return absl::DataLossError(absl::StrCat(
          field, ": array of ", v->array_len, " strings does not fit in the ",
          r->remaining(), " bytes left"));
    }
    if (keep_string_arrays) v->strings.reserve(v->array_len);
    for (uint64_t k = 0; k < v->array_len; ++k) {
      std::string s;
      FM_RETURN_IF_ERROR(ReadString(r, absl::StrCat(field, "[", k, "]"), &s));
      if (keep_string_arrays) v->strings.push_back(std::move(s));
    }
    return absl::OkStatus();
  }
  const uint64_t elem = ScalarSize(v->array_type);
  if (elem == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": unsupported array element type ", v->array_type));
  }
  uint64_t bytes;
  if (MulOverflow(v->array_len, elem, &bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": array length ", v->array_len, " overflows"));
  }
  return r->Skip(field + " array data", bytes);
}

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

absl::StatusOr<GgufFile> ParseGguf(const uint8_t* data, uint64_t size,
                                   bool keep_string_arrays) {
  ByteReader r(data, size);
  GgufFile f;
  uint32_t magic = 0;
  FM_RETURN_IF_ERROR(r.Read("GGUF magic", &magic));
  if (magic != kGgufMagic) {
    return absl::InvalidArgumentError("not a GGUF file: wrong magic");
  }
  FM_RETURN_IF_ERROR(r.Read("GGUF version", &f.version));
  if (f.version != 2 && f.version != 3) {
    const bool swapped = (f.version & 0xffff) == 0 && f.version != 0;
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF version ", f.version, " is not supported (only 2 and 3)",
        swapped ? "; the file looks big-endian" : ""));
  }
  uint64_t n_tensors = 0, n_kv = 0;
  FM_RETURN_IF_ERROR(r.Read("GGUF tensor count", &n_tensors));
  FM_RETURN_IF_ERROR(r.Read("GGUF metadata count", &n_kv));
  if (n_tensors > kGgufMaxTensors) {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF tensor count ", n_tensors, " exceeds the limit ",
                     kGgufMaxTensors));
  }
  if (n_kv > kGgufMaxKeys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata count ", n_kv, " exceeds the limit ", kGgufMaxKeys));
  }
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    FM_RETURN_IF_ERROR(
        ReadString(&r, absl::StrCat("GGUF metadata key #", k), &key));
    uint32_t type = 0;
    const std::string field = absl::StrCat("GGUF metadata '", key, "'");
    FM_RETURN_IF_ERROR(r.Read(field + " type", &type));
    GgufValue v;
    FM_RETURN_IF_ERROR(ReadValue(&r, field, type, keep_string_arrays, &v));
    if (!f.kv.emplace(key, std::move(v)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF metadata key '", key, "' appears twice"));
    }
  }
  auto align_it = f.kv.find("general.alignment");
  if (align_it != f.kv.end()) {
    const GgufValue& v = align_it->second;
    if (v.type != kGgufUint32 || v.u == 0 || (v.u & (v.u - 1)) != 0 ||
        v.u > 65536) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF general.alignment must be a uint32 power of two <= 65536, "
          "got ",
          v.u));
    }
    f.alignment = v.u;
  }
  f.tensors.reserve(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    GgufTensorInfo info;
    FM_RETURN_IF_ERROR(
        ReadString(&r, absl::StrCat("GGUF tensor #", t, " name"), &info.name));
    const std::string field = absl::StrCat("tensor ", info.name);
    uint32_t n_dims = 0;
    FM_RETURN_IF_ERROR(r.Read(field + " n_dims", &n_dims));
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": n_dims = ", n_dims, " is outside [1, ", kGgufMaxDims, "]"));
    }
    uint64_t elems = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      FM_RETURN_IF_ERROR(r.Read(absl::StrCat(field, " ne[", d, "]"), &ne));
      if (ne == 0 || ne > static_cast<uint64_t>(INT64_MAX)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": ne[", d, "] = ", ne, " is invalid"));
      }
      if (MulOverflow(elems, ne, &elems) ||
          elems > static_cast<uint64_t>(INT64_MAX)) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ": element count overflows at ne[", d, "] = ", ne));
      }
      info.ne.push_back(ne);
    }
    uint32_t type = 0;
    FM_RETURN_IF_ERROR(r.Read(field + " type", &type));
    FM_ASSIGN_OR_RETURN(info.dtype, TensorType(info.name, type));
    if (info.dtype == DType::kQ8_0 && info.ne[0] % kQ8BlockSize != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " is Q8_0 but ne[0] = ", info.ne[0],
                       " is not a multiple of ", kQ8BlockSize));
    }
    info.nbytes = DTypeBytes(info.dtype, elems);
    if (info.nbytes == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": byte size of ", elems, " elements overflows"));
    }
    FM_RETURN_IF_ERROR(r.Read(field + " offset", &info.offset));
    if (info.offset % f.alignment != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": offset ", info.offset, " is not a multiple of the ",
          "alignment ", f.alignment));
    }
    if (f.FindTensor(info.name) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF tensor '", info.name, "' appears twice"));
    }
    f.tensors.push_back(std::move(info));
  }
  // The data section starts at the next multiple of the alignment.
  uint64_t data_offset;
  if (AddOverflow(r.offset(), f.alignment - 1, &data_offset)) {
    return absl::DataLossError("GGUF data offset overflows");
  }
  data_offset -= data_offset % f.alignment;
  if (data_offset > size) {
    return absl::DataLossError(
        absl::StrCat("GGUF file truncated before its data section (offset ",
                     data_offset, ", file has ", size, " bytes)"));
  }
  f.data_offset = data_offset;
  for (auto& t : f.tensors) {
    uint64_t begin, end;
    if (AddOverflow(data_offset, t.offset, &begin) ||
        AddOverflow(begin, t.nbytes, &end) || end > size) {
      return absl::DataLossError(absl::StrCat(
          "tensor ", t.name, " data (", t.nbytes, " bytes at data offset ",
          t.offset, ") is not within the file (", size,
          " bytes): the model is corrupted or incomplete"));
    }
    t.data = data + begin;
  }
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
  const GgufValue& v = it->second;
  if (v.type == kGgufString || v.type == kGgufArray || v.type == kGgufFloat32 ||
      v.type == kGgufFloat64 || v.type == kGgufBool) {
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
  const GgufValue& v = it->second;
  if (v.type != kGgufFloat32 && v.type != kGgufFloat64) {
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
  if (arch == f.kv.end() || arch->second.type != kGgufString) {
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
