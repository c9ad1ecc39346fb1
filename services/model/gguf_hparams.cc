// Typed reads of "<arch>.*" metadata with the key in every message.
#include "services/model/gguf_hparams.h"

#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fm::model {
namespace {

bool IsInteger(uint32_t type) {
  switch (type) {
    case gguf::kUint8:
    case gguf::kInt8:
    case gguf::kUint16:
    case gguf::kInt16:
    case gguf::kUint32:
    case gguf::kInt32:
    case gguf::kUint64:
    case gguf::kInt64:
      return true;
    default:
      return false;
  }
}

// The signed value of an integer key (a uint64 above INT64_MAX is -1,
// which every range check here refuses).
int64_t IntValue(const gguf::Value& v) { return v.i; }

}  // namespace

GgufHparams::GgufHparams(const std::map<std::string, gguf::Value>& kv,
                         std::string arch)
    : kv_(kv), arch_(std::move(arch)) {}

bool GgufHparams::Has(const std::string& suffix) const {
  return kv_.count(Key(suffix)) != 0;
}

const gguf::Value* GgufHparams::Find(const std::string& suffix) {
  read_.insert(suffix);
  auto it = kv_.find(Key(suffix));
  return it == kv_.end() ? nullptr : &it->second;
}

absl::Status GgufHparams::Int(const std::string& suffix, bool required,
                              int64_t min, int64_t max, int32_t* out) {
  const gguf::Value* v = Find(suffix);
  if (v == nullptr) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", Key(suffix), "' is missing"));
  }
  if (!IsInteger(v->type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' has type ", v->type,
        ", expected an integer"));
  }
  const int64_t x = IntValue(*v);
  if ((v->type == gguf::kUint64 && v->u > static_cast<uint64_t>(max)) ||
      x < min || x > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' = ",
        v->type == gguf::kUint64 ? absl::StrCat(v->u) : absl::StrCat(x),
        " is outside [", min, ", ", max, "]"));
  }
  *out = static_cast<int32_t>(x);
  return absl::OkStatus();
}

absl::Status GgufHparams::Float(const std::string& suffix, bool required,
                                float min, float max, float* out) {
  const gguf::Value* v = Find(suffix);
  if (v == nullptr) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", Key(suffix), "' is missing"));
  }
  double x = 0.0;
  if (v->type == gguf::kFloat32 || v->type == gguf::kFloat64) {
    x = v->f;
  } else if (IsInteger(v->type)) {
    x = static_cast<double>(IntValue(*v));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' has type ", v->type,
        ", expected a number"));
  }
  if (!std::isfinite(x) || x < min || x > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", Key(suffix), "' = ", x,
                     " is outside [", min, ", ", max, "]"));
  }
  *out = static_cast<float>(x);
  return absl::OkStatus();
}

absl::Status GgufHparams::String(const std::string& suffix, bool required,
                                 std::string* out) {
  const gguf::Value* v = Find(suffix);
  if (v == nullptr) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", Key(suffix), "' is missing"));
  }
  if (v->type != gguf::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' has type ", v->type,
        ", expected a string"));
  }
  *out = v->str;
  return absl::OkStatus();
}

absl::Status GgufHparams::Bool(const std::string& suffix, bool* out) {
  const gguf::Value* v = Find(suffix);
  if (v == nullptr) return absl::OkStatus();
  if (v->type != gguf::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' has type ", v->type,
        ", expected a bool"));
  }
  *out = v->u != 0;
  return absl::OkStatus();
}

absl::Status GgufHparams::IntOrArray(const std::string& suffix,
                                     int32_t n_layers, int64_t min,
                                     int64_t max, std::vector<int32_t>* out) {
  const gguf::Value* v = Find(suffix);
  if (v == nullptr) return absl::OkStatus();
  if (v->type != gguf::kArray) {
    int32_t x = 0;
    read_.erase(suffix);  // Int() marks it again
    if (absl::Status s = Int(suffix, true, min, max, &x); !s.ok()) return s;
    out->assign(1, x);
    return absl::OkStatus();
  }
  if (!IsInteger(v->array_type) && v->array_type != gguf::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' is an array of type ",
        v->array_type, ", expected integers or bools"));
  }
  if (static_cast<int64_t>(v->ints.size()) != n_layers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", Key(suffix), "' has ", v->ints.size(),
        " entries, expected one per layer (", n_layers, ")"));
  }
  out->clear();
  for (size_t l = 0; l < v->ints.size(); ++l) {
    const int64_t x = v->ints[l];
    if (x < min || x > max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF metadata '", Key(suffix), "'[", l, "] = ", x, " is outside [",
          min, ", ", max, "]"));
    }
    out->push_back(static_cast<int32_t>(x));
  }
  return absl::OkStatus();
}

absl::Status GgufHparams::CheckAllRead() const {
  const std::string prefix = arch_ + ".";
  for (const auto& [key, value] : kv_) {
    if (!absl::StartsWith(key, prefix)) continue;
    if (read_.count(key.substr(prefix.size())) != 0) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", key, "' is not implemented for architecture '",
        arch_, "': the model would compute something else"));
  }
  return absl::OkStatus();
}

}  // namespace fm::model
