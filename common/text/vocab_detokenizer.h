// VocabDetokenizer: decodes ids locally from an exported vocabulary (the
// tokenizer service's GetVocab), exactly as SentencePiece's Decode does, so
// that a streaming client needs no round trip per token.
#ifndef FM_COMMON_TEXT_VOCAB_DETOKENIZER_H_
#define FM_COMMON_TEXT_VOCAB_DETOKENIZER_H_

#include <vector>

#include "common/text/vocabulary.h"

namespace fm::text {

// SentencePiece's normalizer settings, which decide how the start of a
// decoded text looks.
struct DecodeRules {
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = false;
};

class VocabDetokenizer final : public Detokenizer {
 public:
  // `entries[id]` describes id; `entries` must not be empty.
  VocabDetokenizer(std::vector<VocabEntry> entries, SpecialIds special,
                   DecodeRules rules);

  // SentencePiece 0.1.97's rules: control ids vanish; consecutive byte
  // pieces form bytes, each valid UTF-8 character kept and every other
  // byte replaced by U+FFFD; other pieces turn "▁" into a space. At the
  // start of a text (with add_dummy_prefix or remove_extra_whitespaces)
  // the first piece's leading "▁" is dropped; with remove_extra_whitespaces
  // the leading "▁" of every piece is, until the text is non-empty.
  absl::StatusOr<std::string> Decode(
      absl::Span<const TokenId> ids) const override;
  int32_t vocab_size() const override {
    return static_cast<int32_t>(entries_.size());
  }
  SpecialIds special_ids() const override { return special_; }
  const VocabEntry& entry(TokenId id) const override { return entries_[id]; }
  const DecodeRules& rules() const { return rules_; }

 private:
  std::vector<VocabEntry> entries_;
  SpecialIds special_;
  DecodeRules rules_;
};

}  // namespace fm::text

#endif  // FM_COMMON_TEXT_VOCAB_DETOKENIZER_H_
