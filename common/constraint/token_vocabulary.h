// TokenVocabulary: what a constraint needs of a tokenizer — the bytes each
// token adds to the text mid-sequence (byte-fallback and byte-level BPE
// tokens included), which tokens carry no text (control, unknown, unused:
// never allowed by a constraint), and the end-of-generation ids, allowed
// exactly where the constrained text may end.
#ifndef FM_COMMON_CONSTRAINT_TOKEN_VOCABULARY_H_
#define FM_COMMON_CONSTRAINT_TOKEN_VOCABULARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/token_id.h"

namespace fm::constraint {

struct TokenVocabulary {
  // (vocab_size) The bytes of token i; empty for a token a constraint never
  // allows as text.
  std::vector<std::string> bytes;
  // Ascending, each once.
  std::vector<TokenId> end_of_generation;
  // Ascending: tokens whose text differs at the very start of a text (a
  // SentencePiece piece whose leading "\xe2\x96\x81" the decoder drops
  // there). While no text has been produced a constraint refuses them, so
  // the text it checks is the text the client receives.
  std::vector<TokenId> changed_at_text_start;
  // The tokenizer's identity (its file's sha256), so that a constraint is
  // never applied with another tokenizer's vocabulary.
  std::string tokenizer_sha256;

  int32_t size() const { return static_cast<int32_t>(bytes.size()); }
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_TOKEN_VOCABULARY_H_
