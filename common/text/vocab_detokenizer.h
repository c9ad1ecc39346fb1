// VocabDetokenizer: decodes ids locally from an exported vocabulary (the
// tokenizer service's GetVocab), exactly as SentencePiece's Decode does, so
// that a streaming client needs no round trip per token.
#ifndef FM_COMMON_TEXT_VOCAB_DETOKENIZER_H_
#define FM_COMMON_TEXT_VOCAB_DETOKENIZER_H_

#include <vector>

#include "common/text/vocabulary.h"

namespace fm::text {

// How a vocabulary's ids become text. SentencePiece-style (the default):
// its normalizer settings decide how the start of a text looks. Byte-level
// (GPT-2-style BPE): every piece's text is bytes, and the bytes of the whole
// sequence form the text.
struct DecodeRules {
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = false;
  bool byte_level = false;
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
  // Byte-level: control ids vanish, every other id's text is bytes, and
  // the bytes of the sequence are kept as valid UTF-8 characters with
  // U+FFFD for each byte that does not start one.
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
