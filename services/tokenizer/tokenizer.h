// Tokenizer: the text <-> token id contract every fmserve component relies
// on. Lossless for valid UTF-8: Decode(Encode(x)) == x up to the model's
// normalization (SentencePiece's contract).
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/vocabulary.h"
#include "services/tokenizer/added_tokens.h"

namespace fm::tokenizer {

struct EncodeOptions {
  // EncodeOptions{add_bos, add_eos, parse_special}; literal ranges set
  // by name.
  EncodeOptions(bool bos = false, bool eos = false, bool special = false)
      : add_bos(bos), add_eos(eos), parse_special(special) {}

  bool add_bos = false;
  bool add_eos = false;
  // Control tokens written in the text ("<|eot_id|>", "<start_of_turn>")
  // become their ids. Off by default: a prompt that contains them stays
  // text, so user input cannot end a turn or forge a role.
  bool parse_special = false;
  // Byte ranges [begin, end) of the text where parse_special does not
  // apply: text a user wrote inside a rendered chat prompt.
  std::vector<std::pair<size_t, size_t>> literal_ranges;
  // The text continues earlier text: no dummy-prefix space (SentencePiece's
  // "\xe2\x96\x81" before the first word), no "first word" prepending, so
  // the ids are those a model generating the text after a prompt emits.
  bool continuation = false;
};

// Text <-> ids. Thread-safe: all methods are const.
class Tokenizer : public text::Detokenizer {
 public:
  // INVALID_ARGUMENT when `text` is not valid UTF-8 (naming the offset).
  // Empty text gives no ids (or BOS/EOS alone).
  absl::StatusOr<std::vector<TokenId>> Encode(absl::string_view text,
                                              const EncodeOptions& options) const;

  // The control tokens parse_special recognises.
  const AddedTokenMatcher& special_tokens() const { return special_tokens_; }

 protected:
  // The control tokens parse_special recognises; subclasses set them once
  // at creation (by default, every control piece of the vocabulary).
  void SetSpecialTokens(const std::vector<AddedToken>& tokens) {
    special_tokens_ = AddedTokenMatcher(tokens);
  }
  void SetSpecialTokensFromVocabulary();

  // Appends the ids of `text` (valid UTF-8), without BOS or EOS.
  // `at_text_start`: `text` is the start of the request's text (not a
  // stretch after a special token).
  virtual absl::Status EncodeText(absl::string_view text, bool at_text_start,
                                  std::vector<TokenId>* ids) const = 0;
  // EncodeText of text that continues earlier text (see
  // EncodeOptions::continuation); by default a stretch not at text start.
  virtual absl::Status EncodeContinuation(absl::string_view text,
                                          std::vector<TokenId>* ids) const {
    return EncodeText(text, /*at_text_start=*/false, ids);
  }

 private:
  AddedTokenMatcher special_tokens_;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_H_
