// TokensWithin: for one set of byte groups, the tokens that are UTF-8 and
// made only of bytes in those groups, by length: the tokens of at most 1,
// 2, ... kMaxLength characters, or of any length, as a token bitmask. A
// mask whose state allows every such text up to some length starts as a
// copy of one of these and walks only the rest of the trie
// (CompiledConstraint).
//
// Built from the tokens' summaries in one pass (a byte per token); each
// length's bitmask is packed from those bytes on first use, eight tokens
// per multiply, and kept.
#ifndef FM_COMMON_CONSTRAINT_TOKENS_WITHIN_H_
#define FM_COMMON_CONSTRAINT_TOKENS_WITHIN_H_

#include <array>
#include <cstdint>
#include <vector>

#include "common/constraint/token_trie.h"

namespace fm::constraint {

class TokensWithin {
 public:
  static constexpr int32_t kMaxLength = 32;

  // `groups`: TextSummary group bits.
  TokensWithin(const TokenTrie& trie, uint64_t groups);

  // (ceil(vocabulary size / 64)) The tokens of 1..`length` characters (as
  // TextSummary counts them), `length` >= 1; over kMaxLength: of any
  // length.
  const std::vector<uint64_t>& UpTo(int32_t length);
  // Memory held now (grows as UpTo packs lengths).
  int64_t bytes() const;

 private:
  // (vocabulary size, rounded up to 64) Each token's length capped at
  // kMaxLength + 1, or kOutside; all below 128 for the packing's adds.
  static constexpr uint8_t kOutside = 127;
  std::vector<uint8_t> lengths_;
  std::array<std::vector<uint64_t>, kMaxLength + 1> up_to_;  // packed once
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_TOKENS_WITHIN_H_
