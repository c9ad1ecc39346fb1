// RegexVerifier: the example VerifierService — a candidate's score is the
// number of non-overlapping matches of a PCRE2 pattern in its text (so
// "contains a well-formed answer" scores at least 1, and a pattern for
// wanted features counts them). A rule is the simplest verifier; a test
// runner or a reward model implements the same contract.
#ifndef FM_SERVICES_VERIFIER_REGEX_VERIFIER_H_
#define FM_SERVICES_VERIFIER_REGEX_VERIFIER_H_

#include <memory>

#include "common/executor.h"
#include "common/text/regex.h"
#include "fm/v1/verifier.grpc.pb.h"

namespace fm::verifier {

class RegexVerifier final : public fm::v1::VerifierService::CallbackService {
 public:
  // At most this much candidate text is examined (INVALID_ARGUMENT above).
  static constexpr size_t kMaxCandidateBytes = 1 << 20;

  RegexVerifier(std::unique_ptr<text::Regex> pattern, int threads);

  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* ctx,
                                  const fm::v1::VerifyRequest* request,
                                  fm::v1::VerifyResponse* response) override;

 private:
  const std::unique_ptr<text::Regex> pattern_;
  Executor executor_;
};

}  // namespace fm::verifier

#endif  // FM_SERVICES_VERIFIER_REGEX_VERIFIER_H_
