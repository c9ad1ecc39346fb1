// ParseJsonValue over nlohmann::json's SAX interface, so that key order
// is kept and depth is checked while parsing.
#include "common/jinja/json_value.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace fm::jinja {
namespace {

class Builder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Put(Value::None()); }
  bool boolean(bool v) override { return Put(Value::Bool(v)); }
  bool number_integer(number_integer_t v) override { return Put(Value::Int(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    return Put(v > static_cast<uint64_t>(INT64_MAX) ? Value::Float(static_cast<double>(v))
                                                     : Value::Int(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t&) override { return Put(Value::Float(v)); }
  bool string(string_t& v) override { return Put(Value::String(v)); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return Open(Value::MakeObject()); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(Value::MakeArray()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error_ = absl::StrCat("at byte ", position, ": ", e.what());
    return false;
  }

  Value result;
  std::string error_;
  bool too_deep = false;

 private:
  bool Put(Value v) {
    if (stack_.empty()) {
      result = std::move(v);
      return true;
    }
    Value& top = stack_.back();
    if (top.is_array()) {
      top.mutable_array().push_back(std::move(v));
    } else {
      top.mutable_object().emplace_back(key_, std::move(v));
    }
    return true;
  }
  bool Open(Value v) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonNesting) {
      too_deep = true;
      return false;
    }
    // Link into the parent first: containers are shared references.
    if (!Put(v)) return false;
    stack_.push_back(std::move(v));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  std::vector<Value> stack_;
  std::string key_;
};

}  // namespace

absl::StatusOr<Value> ParseJsonValue(absl::string_view json,
                                     absl::string_view field) {
  Builder builder;
  const bool ok = nlohmann::json::sax_parse(json.begin(), json.end(), &builder);
  if (builder.too_deep) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": JSON nests deeper than ", kMaxJsonNesting, " levels"));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid JSON ", builder.error_));
  }
  return builder.result;
}

}  // namespace fm::jinja
