// ReadTokenizerJson: a tokenizer.json parsed in one pass, with its two
// large members streamed into flat lists instead of a JSON tree:
// model.vocab (262,144 pieces for Gemma 3) and model.merges (514,906).
// Everything else becomes an ordinary nlohmann::json tree. Nesting deeper
// than kMaxJsonDepth is refused while parsing.
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_JSON_READER_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_JSON_READER_H_

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/token_id.h"

namespace fm::tokenizer {

// Deepest JSON nesting accepted (real files nest under 10 levels).
inline constexpr int kMaxJsonDepth = 64;

struct TokenizerJsonDocument {
  // The document without model.vocab and model.merges.
  nlohmann::json rest;
  bool has_vocab = false;
  // model.vocab in file order: piece -> id (ids checked to be integers in
  // [0, kMaxVocabSize)).
  std::vector<std::pair<std::string, TokenId>> vocab;
  bool has_merges = false;
  // model.merges: "left right" strings split at their space, or
  // [left, right] pairs.
  std::vector<std::pair<std::string, std::string>> merges;
};

// INVALID_ARGUMENT naming `file` and what is wrong (where the JSON breaks,
// a vocabulary id that is no integer or out of range, a malformed merge,
// nesting past the limit).
absl::StatusOr<TokenizerJsonDocument> ReadTokenizerJson(absl::string_view json,
                                                        absl::string_view file);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_JSON_READER_H_
