// Tokenizer: the text <-> token id contract every fmserve component relies
// on. Lossless for valid UTF-8: Decode(Encode(x)) == x up to the model's
// normalization (SentencePiece's contract).
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/vocabulary.h"

namespace fm::tokenizer {

struct EncodeOptions {
  bool add_bos = false;
  bool add_eos = false;
};

// Text <-> ids. Thread-safe: all methods are const.
class Tokenizer : public text::Detokenizer {
 public:
  // INVALID_ARGUMENT when `text` is not valid UTF-8 (naming the offset).
  // Empty text gives no ids (or BOS/EOS alone).
  absl::StatusOr<std::vector<TokenId>> Encode(absl::string_view text,
                                              const EncodeOptions& options) const;

 protected:
  // Appends the ids of `text` (valid UTF-8), without BOS or EOS.
  virtual absl::Status EncodeText(absl::string_view text,
                                  std::vector<TokenId>* ids) const = 0;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_H_
