// ConstraintCache: an LRU keyed by content and vocabulary identity.
#include "common/constraint/constraint_cache.h"

#include "absl/strings/str_cat.h"

namespace fm::constraint {

std::shared_ptr<CompiledConstraint> ConstraintCache::Get(
    const std::string& content_key, const ByteGrammar& grammar,
    const std::shared_ptr<const TokenVocabulary>& vocabulary,
    const std::shared_ptr<const TokenTrie>& trie) {
  const std::string key = absl::StrCat(
      content_key, "|", vocabulary->tokenizer_sha256, "|", vocabulary->size());
  absl::MutexLock lock(&mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  // Building is cheap (the automaton starts with one state and grows as
  // masks are asked for), so it happens under the lock.
  auto compiled = std::make_shared<CompiledConstraint>(grammar, vocabulary,
                                                       trie, mask_cache_bytes_);
  lru_.emplace_front(key, compiled);
  index_[key] = lru_.begin();
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return compiled;
}

size_t ConstraintCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace fm::constraint
