// GGUF parsing: every count, length and offset checked in 64 bits against
// the bytes left before it is used.
#include "common/gguf/gguf_file.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/byte_reader.h"
#include "common/status_macros.h"

namespace fm::gguf {
namespace {

absl::Status ReadString(ByteReader* r, const std::string& field,
                        std::string* out) {
  uint64_t len = 0;
  FM_RETURN_IF_ERROR(r->Read(field + " length", &len));
  if (len > kMaxStringLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": string length ",
                                                   len, " exceeds the limit ",
                                                   kMaxStringLength));
  }
  const uint8_t* bytes = nullptr;
  FM_RETURN_IF_ERROR(r->ReadBytes(field, len, &bytes));
  out->assign(reinterpret_cast<const char*>(bytes), len);
  return absl::OkStatus();
}

// Size of a fixed-size scalar type, 0 for string/array/unknown.
uint64_t ScalarSize(uint32_t type) {
  switch (type) {
    case kUint8:
    case kInt8:
    case kBool:
      return 1;
    case kUint16:
    case kInt16:
      return 2;
    case kUint32:
    case kInt32:
    case kFloat32:
      return 4;
    case kUint64:
    case kInt64:
    case kFloat64:
      return 8;
    default:
      return 0;
  }
}

absl::Status ReadScalar(ByteReader* r, const std::string& field, uint32_t type,
                        Value* v) {
  switch (type) {
    case kUint8: {
      uint8_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kBool: {
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
    case kInt8: {
      int8_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kUint16: {
      uint16_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kInt16: {
      int16_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kUint32: {
      uint32_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x;
      return absl::OkStatus();
    }
    case kInt32: {
      int32_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kUint64: {
      uint64_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->u = x;
      v->i = x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? -1
                 : static_cast<int64_t>(x);
      return absl::OkStatus();
    }
    case kInt64: {
      int64_t x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->i = x;
      v->u = x < 0 ? 0 : x;
      return absl::OkStatus();
    }
    case kFloat32: {
      float x = 0;
      FM_RETURN_IF_ERROR(r->Read(field, &x));
      v->f = x;
      return absl::OkStatus();
    }
    case kFloat64: {
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
                       const ParseOptions& options, Value* v) {
  v->type = type;
  if (type == kString) return ReadString(r, field, &v->str);
  if (type != kArray) return ReadScalar(r, field, type, v);
  FM_RETURN_IF_ERROR(r->Read(field + " array type", &v->array_type));
  FM_RETURN_IF_ERROR(r->Read(field + " array length", &v->array_len));
  const bool keep_arrays =
      options.keep_arrays || v->array_len <= options.keep_arrays_up_to;
  if (v->array_type == kString) {
    // Each string needs at least its 8-byte length.
    if (v->array_len > r->remaining() / 8) {
      return absl::DataLossError(absl::StrCat(
          field, ": array of ", v->array_len, " strings does not fit in the ",
          r->remaining(), " bytes left"));
    }
    if (keep_arrays) v->strings.reserve(v->array_len);
    for (uint64_t k = 0; k < v->array_len; ++k) {
      std::string s;
      FM_RETURN_IF_ERROR(ReadString(r, absl::StrCat(field, "[", k, "]"), &s));
      if (keep_arrays) v->strings.push_back(std::move(s));
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
  if (bytes > r->remaining()) return r->Truncated(field + " array data", bytes);
  if (!keep_arrays) return r->Skip(field + " array data", bytes);
  const bool floats =
      v->array_type == kFloat32 || v->array_type == kFloat64;
  if (floats) {
    v->floats.reserve(v->array_len);
  } else {
    v->ints.reserve(v->array_len);
  }
  for (uint64_t k = 0; k < v->array_len; ++k) {
    Value element;
    FM_RETURN_IF_ERROR(ReadScalar(r, field, v->array_type, &element));
    if (floats) {
      v->floats.push_back(static_cast<float>(element.f));
    } else {
      v->ints.push_back(element.i);
    }
  }
  return absl::OkStatus();
}

}  // namespace

const Value* File::Find(absl::string_view key) const {
  auto it = kv.find(std::string(key));
  return it == kv.end() ? nullptr : &it->second;
}

const TensorEntry* File::FindTensor(absl::string_view name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool LooksLikeGguf(absl::string_view data) {
  uint32_t magic = 0;
  if (data.size() < sizeof(magic)) return false;
  std::memcpy(&magic, data.data(), sizeof(magic));
  return magic == kMagic;
}

absl::StatusOr<File> Parse(const uint8_t* data, uint64_t size,
                           const ParseOptions& options) {
  ByteReader r(data, size);
  File f;
  uint32_t magic = 0;
  FM_RETURN_IF_ERROR(r.Read("GGUF magic", &magic));
  if (magic != kMagic) {
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
  if (n_tensors > kMaxTensors) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF tensor count ", n_tensors, " exceeds the limit ", kMaxTensors));
  }
  if (n_kv > kMaxKeys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata count ", n_kv, " exceeds the limit ", kMaxKeys));
  }
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    FM_RETURN_IF_ERROR(
        ReadString(&r, absl::StrCat("GGUF metadata key #", k), &key));
    uint32_t type = 0;
    const std::string field = absl::StrCat("GGUF metadata '", key, "'");
    FM_RETURN_IF_ERROR(r.Read(field + " type", &type));
    Value v;
    FM_RETURN_IF_ERROR(ReadValue(&r, field, type, options, &v));
    if (!f.kv.emplace(key, std::move(v)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF metadata key '", key, "' appears twice"));
    }
  }
  if (const Value* v = f.Find("general.alignment")) {
    if (v->type != kUint32 || v->u == 0 || (v->u & (v->u - 1)) != 0 ||
        v->u > 65536) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF general.alignment must be a uint32 power of two <= 65536, "
          "got ",
          v->u));
    }
    f.alignment = v->u;
  }
  f.tensors.reserve(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    TensorEntry info;
    FM_RETURN_IF_ERROR(
        ReadString(&r, absl::StrCat("GGUF tensor #", t, " name"), &info.name));
    const std::string field = absl::StrCat("tensor ", info.name);
    uint32_t n_dims = 0;
    FM_RETURN_IF_ERROR(r.Read(field + " n_dims", &n_dims));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": n_dims = ", n_dims, " is outside [1, ", kMaxDims, "]"));
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
    FM_RETURN_IF_ERROR(r.Read(field + " type", &info.ggml_type));
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
  if (n_tensors > 0 && data_offset > size) {
    return absl::DataLossError(
        absl::StrCat("GGUF file truncated before its data section (offset ",
                     data_offset, ", file has ", size, " bytes)"));
  }
  f.data_offset = data_offset;
  return f;
}

}  // namespace fm::gguf
