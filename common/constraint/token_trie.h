// TokenTrie: a vocabulary's tokens as a byte trie laid out in preorder, so
// that a mask is one forward pass over flat arrays: a node whose byte the
// automaton refuses skips its whole subtree in one jump.
#ifndef FM_COMMON_CONSTRAINT_TOKEN_TRIE_H_
#define FM_COMMON_CONSTRAINT_TOKEN_TRIE_H_

#include <cstdint>
#include <vector>

#include "common/constraint/token_vocabulary.h"
#include "common/token_id.h"

namespace fm::constraint {

class TokenTrie {
 public:
  // Tokens with empty bytes (or over 4096) are left out.
  explicit TokenTrie(const TokenVocabulary& vocabulary);

  struct Node {
    uint8_t byte;
    uint16_t depth;        // 1 for a token's first byte
    int32_t subtree_end;   // first node after this node's subtree
    int32_t tokens_begin;  // tokens ending here: tokens()[begin, end)
    int32_t tokens_end;
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<TokenId>& tokens() const { return tokens_; }
  int32_t max_depth() const { return max_depth_; }

 private:
  std::vector<Node> nodes_;
  std::vector<TokenId> tokens_;
  int32_t max_depth_ = 0;
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_TOKEN_TRIE_H_
