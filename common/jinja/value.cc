// Value: Python's truthiness, equality, str() and json.dumps.
#include "common/jinja/value.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fm::jinja {

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool:
    case Kind::kInt: return int_ != 0;
    case Kind::kFloat: return float_ != 0;
    case Kind::kString: return !string_->empty();
    case Kind::kArray: return !array_->empty();
    case Kind::kObject: return !object_->empty();
  }
  return false;
}

Value Value::Get(absl::string_view key) const {
  if (kind_ != Kind::kObject) return Value();
  for (const auto& [k, v] : *object_) {
    if (k == key) return v;
  }
  return Value();
}

bool Value::Equals(const Value& other) const {
  if (is_number() || is_bool()) {
    if (!(other.is_number() || other.is_bool())) return false;
    return as_float() == other.as_float();
  }
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return *string_ == *other.string_;
    case Kind::kArray: {
      if (array_->size() != other.array_->size()) return false;
      for (size_t i = 0; i < array_->size(); ++i) {
        if (!(*array_)[i].Equals((*other.array_)[i])) return false;
      }
      return true;
    }
    case Kind::kObject: {
      if (object_->size() != other.object_->size()) return false;
      for (const auto& [k, v] : *object_) {
        if (!v.Equals(other.Get(k))) return false;
      }
      return true;
    }
    default: return false;
  }
}

namespace {

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Python's repr: the shortest text that reads back, with ".0" for
  // integral values.
  for (int precision = 1; precision <= 17; ++precision) {
    std::string s = absl::StrFormat("%.*g", precision, d);
    if (std::strtod(s.c_str(), nullptr) == d) {
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    }
  }
  return absl::StrFormat("%.17g", d);
}

void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string Value::Str() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return int_ ? "True" : "False";
    case Kind::kInt: return absl::StrCat(int_);
    case Kind::kFloat: return FloatRepr(float_);
    case Kind::kString: return *string_;
    case Kind::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < array_->size(); ++i) {
        if (i > 0) out += ", ";
        const Value& v = (*array_)[i];
        out += v.is_string() ? absl::StrCat("'", v.as_string(), "'") : v.Str();
      }
      return out + "]";
    }
    case Kind::kObject: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : *object_) {
        if (!first) out += ", ";
        first = false;
        absl::StrAppend(&out, "'", k, "': ",
                        v.is_string() ? absl::StrCat("'", v.as_string(), "'") : v.Str());
      }
      return out + "}";
    }
  }
  return "";
}

std::string Value::ToJson(int indent) const {
  std::string out;
  AppendJson(indent, 0, &out);
  return out;
}

void Value::AppendJson(int indent, int depth, std::string* out) const {
  auto newline = [&](int level) {
    out->push_back('\n');
    out->append(static_cast<size_t>(indent * level), ' ');
  };
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: out->append("null"); return;
    case Kind::kBool: out->append(int_ ? "true" : "false"); return;
    case Kind::kInt: absl::StrAppend(out, int_); return;
    case Kind::kFloat: out->append(FloatRepr(float_)); return;
    case Kind::kString: AppendJsonString(*string_, out); return;
    case Kind::kArray:
      if (array_->empty()) {
        out->append("[]");
        return;
      }
      out->push_back('[');
      for (size_t i = 0; i < array_->size(); ++i) {
        if (i > 0) out->append(indent >= 0 ? "," : ", ");
        if (indent >= 0) newline(depth + 1);
        (*array_)[i].AppendJson(indent, depth + 1, out);
      }
      if (indent >= 0) newline(depth);
      out->push_back(']');
      return;
    case Kind::kObject: {
      if (object_->empty()) {
        out->append("{}");
        return;
      }
      out->push_back('{');
      bool first = true;
      for (const auto& [k, v] : *object_) {
        if (!first) out->append(indent >= 0 ? "," : ", ");
        first = false;
        if (indent >= 0) newline(depth + 1);
        AppendJsonString(k, out);
        out->append(": ");
        v.AppendJson(indent, depth + 1, out);
      }
      if (indent >= 0) newline(depth);
      out->push_back('}');
      return;
    }
  }
}

const char* Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "none";
    case Kind::kBool: return "boolean";
    case Kind::kInt: return "integer";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kArray: return "list";
    case Kind::kObject: return is_namespace() ? "namespace" : "dict";
  }
  return "?";
}

}  // namespace fm::jinja
