// Tokenizer::Encode: what every tokenizer does around its own encoding.
#include "services/tokenizer/tokenizer.h"

#include "common/utf8.h"

namespace fm::tokenizer {

void Tokenizer::SetSpecialTokensFromVocabulary() {
  std::vector<AddedToken> tokens;
  for (TokenId id = 0; id < vocab_size(); ++id) {
    const text::VocabEntry& e = entry(id);
    if (e.type != text::PieceType::kControl) continue;
    AddedToken t;
    t.content = e.piece;
    t.id = id;
    t.special = true;
    tokens.push_back(std::move(t));
  }
  SetSpecialTokens(tokens);
}

absl::StatusOr<std::vector<TokenId>> Tokenizer::Encode(
    absl::string_view text, const EncodeOptions& options) const {
  absl::Status valid = ValidateUtf8(text, "text");
  if (!valid.ok()) return valid;
  std::vector<TokenId> ids;
  const text::SpecialIds special = special_ids();
  if (options.add_bos && special.bos >= 0) ids.push_back(special.bos);
  auto encode_first = [&](absl::string_view stretch) {
    return options.continuation
               ? EncodeContinuation(stretch, &ids)
               : EncodeText(stretch, /*at_text_start=*/true, &ids);
  };
  if (options.parse_special && !special_tokens_.empty()) {
    bool at_start = true;
    for (const AddedTokenMatcher::Segment& s : special_tokens_.Split(text, &options.literal_ranges)) {
      if (s.id >= 0) {
        ids.push_back(s.id);
      } else {
        absl::Status encoded =
            at_start ? encode_first(s.text) : EncodeText(s.text, false, &ids);
        if (!encoded.ok()) return encoded;
      }
      at_start = false;
    }
  } else {
    absl::Status encoded = encode_first(text);
    if (!encoded.ok()) return encoded;
  }
  if (options.add_eos && special.eos >= 0) ids.push_back(special.eos);
  return ids;
}

}  // namespace fm::tokenizer
