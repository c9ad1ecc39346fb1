// Reading numbers out of the JSON that fmctl prints (proto JSON: int64
// fields are strings, int32 fields numbers) without throwing on output
// that is not what a test expected.
#ifndef FM_TESTS_SUPPORT_JSON_FIELD_H_
#define FM_TESTS_SUPPORT_JSON_FIELD_H_

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

namespace fm::testing {

// `field` of the object `j` as an integer; `missing` when `j` is not an
// object, lacks the field, or holds something else there.
inline int64_t JsonInt(const nlohmann::json& j, const char* field,
                       int64_t missing = 0) {
  if (!j.is_object()) return missing;
  auto it = j.find(field);
  if (it == j.end()) return missing;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end != nullptr && *end == '\0') return v;
  }
  return missing;
}

// Parses `text`; a null value (is_object() false) when it is not JSON.
inline nlohmann::json ParseJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json() : j;
}

}  // namespace fm::testing

#endif  // FM_TESTS_SUPPORT_JSON_FIELD_H_
