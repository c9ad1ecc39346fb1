// SessionVocabulary: what a sampler offers the stages that work on text
// (constraints): the token texts of the tokenizer the session's logits
// come from, their byte trie, and the cache of compiled constraints.
#ifndef FM_SERVICES_SAMPLER_SESSION_VOCABULARY_H_
#define FM_SERVICES_SAMPLER_SESSION_VOCABULARY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/constraint/constraint_cache.h"
#include "common/constraint/token_trie.h"
#include "common/constraint/token_vocabulary.h"

namespace fm::sampler {

struct SessionVocabulary {
  // Null when the sampler has no vocabulary (no --tokenizer, or not loaded
  // yet); stages that need one then refuse the session.
  std::shared_ptr<const constraint::TokenVocabulary> tokens;
  std::shared_ptr<const constraint::TokenTrie> trie;
  constraint::ConstraintCache* cache = nullptr;
  // Why `tokens` is null, for the refusal's message, and its code:
  // FAILED_PRECONDITION when the sampler has no tokenizer to load from,
  // UNAVAILABLE while it could not load yet (retryable).
  std::string missing_reason;
  absl::StatusCode missing_code = absl::StatusCode::kFailedPrecondition;
};

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_SESSION_VOCABULARY_H_
