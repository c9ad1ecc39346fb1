// TokenTrie: a vocabulary's tokens as a byte trie laid out in preorder, so
// that a mask is one forward pass over flat arrays: a node whose byte the
// automaton refuses skips its whole subtree in one jump.
#ifndef FM_COMMON_CONSTRAINT_TOKEN_TRIE_H_
#define FM_COMMON_CONSTRAINT_TOKEN_TRIE_H_

#include <cstdint>
#include <vector>

#include "common/constraint/text_summary.h"
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
  // (nodes) The TextSummary of all the tokens in each node's subtree (its
  // own included): a mask takes a subtree whole when the summary says
  // every token in it is allowed.
  const std::vector<uint64_t>& subtree_summaries() const {
    return subtree_summaries_;
  }
  // (vocabulary size) The TextSummary of each token; 0 for the tokens
  // left out.
  const std::vector<uint64_t>& token_summaries() const {
    return token_summaries_;
  }

 private:
  std::vector<Node> nodes_;
  std::vector<TokenId> tokens_;
  std::vector<uint64_t> subtree_summaries_;
  std::vector<uint64_t> token_summaries_;
  int32_t max_depth_ = 0;
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_TOKEN_TRIE_H_
