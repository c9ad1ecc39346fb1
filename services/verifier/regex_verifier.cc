// RegexVerifier: count matches on the executor (a long text is not a
// reaction's work).
#include "services/verifier/regex_verifier.h"

#include "absl/strings/str_cat.h"
#include "common/unary_call.h"
#include "common/utf8.h"

namespace fm::verifier {

RegexVerifier::RegexVerifier(std::unique_ptr<text::Regex> pattern, int threads)
    : pattern_(std::move(pattern)), executor_(threads) {}

grpc::ServerUnaryReactor* RegexVerifier::Score(
    grpc::CallbackServerContext* ctx, const fm::v1::VerifyRequest* request,
    fm::v1::VerifyResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    const std::string& text = request->candidate();
    if (text.size() > kMaxCandidateBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidate has ", text.size(), " bytes; at most ",
                       kMaxCandidateBytes));
    }
    if (absl::Status s = ValidateUtf8(text, "candidate"); !s.ok()) return s;
    const size_t matches = pattern_->FindAll(text).size();
    response->set_score(static_cast<double>(matches));
    response->set_reason(absl::StrCat(matches, " match",
                                      matches == 1 ? "" : "es", " of /",
                                      pattern_->pattern(), "/"));
    return absl::OkStatus();
  });
}

}  // namespace fm::verifier
