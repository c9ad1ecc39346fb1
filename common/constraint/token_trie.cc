// TokenTrie: built from the tokens sorted by their bytes; a token's nodes
// start after the prefix it shares with the token before it.
#include "common/constraint/token_trie.h"

#include <algorithm>
#include <numeric>

namespace fm::constraint {

TokenTrie::TokenTrie(const TokenVocabulary& vocabulary) {
  const auto& bytes = vocabulary.bytes;
  std::vector<TokenId> order;
  for (TokenId id = 0; id < vocabulary.size(); ++id) {
    // Tokens longer than any real piece are left out (never allowed).
    if (!bytes[id].empty() && bytes[id].size() <= 4096) order.push_back(id);
  }
  std::sort(order.begin(), order.end(), [&](TokenId a, TokenId b) {
    return bytes[a] < bytes[b] || (bytes[a] == bytes[b] && a < b);
  });
  // path[d] = index of the current node at depth d + 1.
  std::vector<int32_t> path;
  const std::string* previous = nullptr;
  for (TokenId id : order) {
    const std::string& b = bytes[id];
    size_t common = 0;
    if (previous != nullptr) {
      const size_t limit = std::min(previous->size(), b.size());
      while (common < limit && (*previous)[common] == b[common]) ++common;
    }
    // Close the nodes deeper than the shared prefix.
    while (path.size() > common) {
      nodes_[path.back()].subtree_end = static_cast<int32_t>(nodes_.size());
      path.pop_back();
    }
    for (size_t d = common; d < b.size(); ++d) {
      path.push_back(static_cast<int32_t>(nodes_.size()));
      nodes_.push_back({static_cast<uint8_t>(b[d]),
                        static_cast<uint16_t>(std::min<size_t>(d + 1, 65535)),
                        0, 0, 0});
    }
    max_depth_ = std::max(max_depth_, static_cast<int32_t>(b.size()));
    // Tokens are grouped by node: equal bytes are adjacent in `order`.
    Node& end = nodes_[path.back()];
    if (end.tokens_begin == end.tokens_end) {
      end.tokens_begin = static_cast<int32_t>(tokens_.size());
    }
    tokens_.push_back(id);
    end.tokens_end = static_cast<int32_t>(tokens_.size());
    previous = &b;
  }
  while (!path.empty()) {
    nodes_[path.back()].subtree_end = static_cast<int32_t>(nodes_.size());
    path.pop_back();
  }
  // Summaries: each token's, then its node's; then each subtree's, from
  // the last node back (in preorder a node's children come after it, so
  // theirs are whole by then).
  const int32_t n = static_cast<int32_t>(nodes_.size());
  token_summaries_.assign(vocabulary.size(), 0);
  subtree_summaries_.assign(n, 0);
  for (int32_t i = 0; i < n; ++i) {
    const Node& node = nodes_[i];
    if (node.tokens_begin == node.tokens_end) continue;
    const uint64_t summary = SummarizeText(bytes[tokens_[node.tokens_begin]]);
    subtree_summaries_[i] = summary;
    for (int32_t t = node.tokens_begin; t < node.tokens_end; ++t) {
      token_summaries_[tokens_[t]] = summary;
    }
  }
  for (int32_t i = n - 1; i >= 0; --i) {
    for (int32_t child = i + 1; child < nodes_[i].subtree_end;
         child = nodes_[child].subtree_end) {
      subtree_summaries_[i] =
          MergeSummaries(subtree_summaries_[i], subtree_summaries_[child]);
    }
  }
}

}  // namespace fm::constraint
