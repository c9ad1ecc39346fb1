// VocabularySource: the sampler's copy of the tokenizer's vocabulary, for
// constraint stages. Loaded from fm-tokenizer (--tokenizer) in the
// background at start and reloaded when the tokenizer's identity changes
// (checked every period), so a sampler starts serving at once and its
// unconstrained sessions never wait for it.
#ifndef FM_SERVICES_SAMPLER_VOCABULARY_SOURCE_H_
#define FM_SERVICES_SAMPLER_VOCABULARY_SOURCE_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/channel_factory.h"
#include "common/constraint/constraint_cache.h"
#include "fm/v1/tokenizer.grpc.pb.h"
#include "services/sampler/session_vocabulary.h"

namespace fm::sampler {

// The constraint view of an exported vocabulary: each id's text
// mid-sequence (NORMAL, USER_DEFINED and BYTE pieces; nothing for CONTROL,
// UNKNOWN and UNUSED ones), the end-of-generation ids, and the pieces a
// SentencePiece decoder changes at the start of a text.
std::shared_ptr<const constraint::TokenVocabulary> ConstraintVocabulary(
    const fm::v1::GetVocabResponse& vocab, const std::string& sha256);

class VocabularySource {
 public:
  // No tokenizer: every Current() says why constraints are unavailable.
  VocabularySource();
  // Starts loading from `target` in the background.
  static absl::StatusOr<std::unique_ptr<VocabularySource>> Connect(
      const std::string& target, const ChannelOptions& options,
      absl::Duration period);
  ~VocabularySource();

  // The vocabulary now (tokens null while none is loaded, with the
  // reason). Before the first load has finished it waits up to `wait` for
  // it (a sampler that just started serves its first constrained request).
  // Thread-safe.
  SessionVocabulary Current(absl::Duration wait = absl::ZeroDuration()) const;

 private:
  void Loop(absl::Duration period);
  // Loads when the tokenizer's sha256 differs from the loaded one.
  absl::Status Refresh();

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fm::v1::TokenizerService::Stub> stub_;
  std::string target_;
  constraint::ConstraintCache cache_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const constraint::TokenVocabulary> tokens_
      ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const constraint::TokenTrie> trie_ ABSL_GUARDED_BY(mu_);
  std::string missing_reason_ ABSL_GUARDED_BY(mu_);
  // True once the first load succeeded or failed (no point waiting then).
  bool first_attempt_done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_failure_ ABSL_GUARDED_BY(mu_);
  std::thread loop_;
};

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_VOCABULARY_SOURCE_H_
