// ConstraintCache: compiled constraints shared by content, so that every
// session and sequence using the same constraint with the same vocabulary
// shares one automaton and one mask cache (the expensive parts), however
// many requests bring it. Bounded: least recently used entries go first
// (sessions holding one keep it alive). Thread-safe.
#ifndef FM_COMMON_CONSTRAINT_CONSTRAINT_CACHE_H_
#define FM_COMMON_CONSTRAINT_CONSTRAINT_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/constraint/byte_grammar.h"
#include "common/constraint/compiled_constraint.h"
#include "common/constraint/token_trie.h"
#include "common/constraint/token_vocabulary.h"

namespace fm::constraint {

class ConstraintCache {
 public:
  // `mask_cache_bytes`: each compiled constraint's mask budget.
  explicit ConstraintCache(size_t max_entries = 64,
                           int64_t mask_cache_bytes = 16 << 20)
      : max_entries_(max_entries), mask_cache_bytes_(mask_cache_bytes) {}

  // The compiled form of `grammar` (identified by `content_key`, e.g. the
  // SHA-256 of the constraint's kind and source) for `vocabulary`.
  std::shared_ptr<CompiledConstraint> Get(
      const std::string& content_key, const ByteGrammar& grammar,
      const std::shared_ptr<const TokenVocabulary>& vocabulary,
      const std::shared_ptr<const TokenTrie>& trie);

  size_t size() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<CompiledConstraint>>;

  const size_t max_entries_;
  const int64_t mask_cache_bytes_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_CONSTRAINT_CACHE_H_
