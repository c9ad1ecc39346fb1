// Typed access to the members of Hugging Face tokenizer files (nlohmann
// JSON): optional members with defaults, and INVALID_ARGUMENT naming the
// JSON path of a member of the wrong type. Shared by the tokenizer.json
// reader and its pipeline components.
#ifndef FM_SERVICES_TOKENIZER_HF_JSON_FIELDS_H_
#define FM_SERVICES_TOKENIZER_HF_JSON_FIELDS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/regex.h"
#include "common/token_id.h"

namespace fm::tokenizer::hf {

using Json = nlohmann::json;

// INVALID_ARGUMENT "<path>: <what>".
absl::Status Invalid(absl::string_view path, absl::string_view what);
// The member `key` of `object`, or null when absent, null or `object` is
// no object.
const Json* Member(const Json& object, const char* key);
// Members with a default when absent; `path` names `object` in errors.
absl::StatusOr<bool> GetBool(const Json& object, const char* key,
                             absl::string_view path, bool fallback);
absl::StatusOr<std::string> GetString(const Json& object, const char* key,
                                      absl::string_view path,
                                      absl::string_view fallback);
// The non-empty "type" of a component object.
absl::StatusOr<std::string> GetType(const Json& object, absl::string_view path);
// A member that must be an array.
absl::StatusOr<const Json*> GetArray(const Json& object, const char* key,
                                     absl::string_view path);
// A token id: an integer in [0, kMaxVocabSize).
absl::StatusOr<TokenId> GetId(const Json& value, absl::string_view path);
// A {"String": s} (literal) or {"Regex": r} member "pattern".
absl::StatusOr<std::unique_ptr<text::Regex>> GetPattern(const Json& object,
                                                        absl::string_view path);

}  // namespace fm::tokenizer::hf

#endif  // FM_SERVICES_TOKENIZER_HF_JSON_FIELDS_H_
