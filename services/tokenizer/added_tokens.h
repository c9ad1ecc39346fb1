// Added tokens: pieces matched whole in the text before any normalization
// or merge (tokenizer.json "added_tokens", GGUF control and user-defined
// pieces). AddedTokenMatcher finds them leftmost-longest, as Hugging
// Face's added vocabulary does, honouring lstrip, rstrip and single_word.
#ifndef FM_SERVICES_TOKENIZER_ADDED_TOKENS_H_
#define FM_SERVICES_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/token_id.h"

namespace fm::tokenizer {

struct AddedToken {
  std::string content;
  TokenId id = -1;
  // A control token (BOS, <|eot_id|>, <start_of_turn>): recognised in text
  // only when a request sets parse_special. Others always are.
  bool special = false;
  // The match swallows the whitespace before / after it.
  bool lstrip = false;
  bool rstrip = false;
  // Only matched when no letter, digit or '_' touches it.
  bool single_word = false;
  // Matched against normalized text rather than the raw text.
  bool normalized = false;
};

class AddedTokenMatcher {
 public:
  struct Segment {
    absl::string_view text;  // the stretch of text (or the match)
    TokenId id;              // -1: plain text to encode
  };

  AddedTokenMatcher() = default;
  // Tokens with empty content are ignored; for a content given twice the
  // first stands.
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  bool empty() const { return by_content_.empty(); }

  // `text` cut into plain stretches and matched tokens, in order; the
  // stretches without the whitespace an lstrip/rstrip token swallowed. A
  // match that overlaps one of `literal_ranges` ([begin, end) byte ranges,
  // sorted) stays text.
  std::vector<Segment> Split(
      absl::string_view text,
      const std::vector<std::pair<size_t, size_t>>* literal_ranges = nullptr) const;

 private:
  struct Entry {
    TokenId id;
    bool lstrip, rstrip, single_word;
  };
  // The longest token starting at text[pos], or nullptr.
  const Entry* LongestAt(absl::string_view text, size_t pos,
                         size_t* length) const;

  absl::flat_hash_map<std::string, Entry> by_content_;
  // Distinct content lengths, longest first, by first byte.
  std::array<std::vector<size_t>, 256> lengths_;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_ADDED_TOKENS_H_
