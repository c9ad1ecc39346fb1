// Value: what a Jinja2 expression evaluates to, with Python's semantics
// where chat templates rely on them (truthiness, equality, str(), the
// order of a dict's keys). Arrays, objects and namespaces are shared
// references, as Python's lists and dicts are.
#ifndef FM_COMMON_JINJA_VALUE_H_
#define FM_COMMON_JINJA_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace fm::jinja {

class Value;
using Array = std::vector<Value>;
// Keys in insertion order (Python dicts keep it; tojson shows it).
using Object = std::vector<std::pair<std::string, Value>>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject };

  Value() = default;  // undefined
  static Value None() { Value v; v.kind_ = Kind::kNone; return v; }
  static Value Bool(bool b) { Value v; v.kind_ = Kind::kBool; v.int_ = b; return v; }
  static Value Int(int64_t i) { Value v; v.kind_ = Kind::kInt; v.int_ = i; return v; }
  static Value Float(double d) { Value v; v.kind_ = Kind::kFloat; v.float_ = d; return v; }
  static Value String(std::string s) {
    Value v;
    v.kind_ = Kind::kString;
    v.string_ = std::make_shared<const std::string>(std::move(s));
    return v;
  }
  static Value MakeArray(Array items = {}) {
    Value v;
    v.kind_ = Kind::kArray;
    v.array_ = std::make_shared<Array>(std::move(items));
    return v;
  }
  // `is_namespace`: a Jinja namespace(), the one object `set ns.x` may
  // change.
  static Value MakeObject(Object members = {}, bool is_namespace = false) {
    Value v;
    v.kind_ = Kind::kObject;
    v.object_ = std::make_shared<Object>(std::move(members));
    v.namespace_ = is_namespace;
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_namespace() const { return kind_ == Kind::kObject && namespace_; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return kind_ == Kind::kFloat ? static_cast<int64_t>(float_) : int_; }
  double as_float() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return *string_; }
  const Array& as_array() const { return *array_; }
  Array& mutable_array() const { return *array_; }
  const Object& as_object() const { return *object_; }
  Object& mutable_object() const { return *object_; }

  // Python's bool(): empty strings, arrays and objects, 0, None and
  // undefined are false.
  bool Truthy() const;
  // A member of an object (undefined when absent or not an object).
  Value Get(absl::string_view key) const;
  // Python's ==.
  bool Equals(const Value& other) const;
  // Python's str(): None -> "None", True -> "True", 1.0 -> "1.0";
  // undefined -> "".
  std::string Str() const;
  // JSON as Python's json.dumps(ensure_ascii=False) writes it: ", " and
  // ": " separators, or `indent` spaces per level when indent >= 0.
  std::string ToJson(int indent = -1) const;
  // "string", "integer", ... for messages.
  const char* TypeName() const;

 private:
  void AppendJson(int indent, int depth, std::string* out) const;

  Kind kind_ = Kind::kUndefined;
  int64_t int_ = 0;
  double float_ = 0;
  bool namespace_ = false;
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<Array> array_;
  std::shared_ptr<Object> object_;
};

}  // namespace fm::jinja

#endif  // FM_COMMON_JINJA_VALUE_H_
