// The typed member accessors.
#include "services/tokenizer/hf_json_fields.h"

#include "absl/strings/str_cat.h"
#include "services/tokenizer/gguf_vocabulary.h"

namespace fm::tokenizer::hf {

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

absl::StatusOr<bool> GetBool(const Json& object, const char* key,
                             absl::string_view path, bool fallback) {
  const Json* v = Member(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return Invalid(absl::StrCat(path, ".", key), "is not a boolean");
  return v->get<bool>();
}

absl::StatusOr<std::string> GetString(const Json& object, const char* key,
                                      absl::string_view path,
                                      absl::string_view fallback) {
  const Json* v = Member(object, key);
  if (v == nullptr) return std::string(fallback);
  if (!v->is_string()) return Invalid(absl::StrCat(path, ".", key), "is not a string");
  return v->get<std::string>();
}

absl::StatusOr<std::string> GetType(const Json& object, absl::string_view path) {
  if (!object.is_object()) return Invalid(path, "is not an object");
  auto type = GetString(object, "type", path, "");
  if (!type.ok()) return type.status();
  if (type->empty()) return Invalid(path, "has no \"type\"");
  return type;
}

absl::StatusOr<const Json*> GetArray(const Json& object, const char* key,
                                     absl::string_view path) {
  const Json* v = Member(object, key);
  if (v == nullptr || !v->is_array()) {
    return Invalid(absl::StrCat(path, ".", key), "is not an array");
  }
  return v;
}

absl::StatusOr<TokenId> GetId(const Json& value, absl::string_view path) {
  if (!value.is_number_integer()) return Invalid(path, "is not an integer id");
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id >= kMaxVocabSize) {
    return Invalid(path, absl::StrCat("id ", id, " is outside [0, ",
                                      kMaxVocabSize, ")"));
  }
  return static_cast<TokenId>(id);
}

// A {"String": s} or {"Regex": r} pattern.
absl::StatusOr<std::unique_ptr<text::Regex>> GetPattern(
    const Json& object, absl::string_view path) {
  const Json* pattern = Member(object, "pattern");
  const std::string at = absl::StrCat(path, ".pattern");
  if (pattern == nullptr || !pattern->is_object()) {
    return Invalid(at, "is not a {\"String\"} or {\"Regex\"} object");
  }
  if (const Json* s = Member(*pattern, "String"); s != nullptr && s->is_string()) {
    if (s->get_ref<const std::string&>().empty()) return Invalid(at, "is empty");
    return text::Regex::Create(s->get<std::string>(), /*literal=*/true);
  }
  if (const Json* r = Member(*pattern, "Regex");
      r != nullptr && r->is_string()) {
    auto regex = text::Regex::Create(r->get<std::string>());
    if (!regex.ok()) return Invalid(at, regex.status().message());
    return regex;
  }
  return Invalid(at, "is not a {\"String\"} or {\"Regex\"} object");
}

}  // namespace fm::tokenizer::hf
