// CandidateSelection: best_of — the candidates' streams held back, scored
// by the request's Selection (mean or sum logprob, majority of normalised
// answers, a verifier), and the best n written out as sequences 0..n-1,
// followed by one message listing every candidate, its score and why it
// was or was not chosen.
#ifndef FM_SERVICES_GATEWAY_CANDIDATE_SELECTION_H_
#define FM_SERVICES_GATEWAY_CANDIDATE_SELECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/text/regex.h"
#include "fm/v1/gateway.pb.h"
#include "fm/v1/verifier.grpc.pb.h"
#include "services/gateway/generation_limits.h"
#include "services/gateway/response_sink.h"

namespace fm::gateway {

// A request's selection, validated once.
struct SelectionPlan {
  int32_t candidates = 0;  // best_of
  int32_t returned = 1;    // n
  fm::v1::Selection::Method method = fm::v1::Selection::MEAN_LOGPROB;
  std::shared_ptr<const text::Regex> extract;  // MAJORITY; may be null
  bool trim = false;
  bool ignore_case = false;
  std::string verifier_name;
  fm::v1::VerifierService::Stub* verifier = nullptr;  // VERIFIER
  // Keep per-token details in the streamed messages (the client asked).
  bool keep_token_details = false;
};

// INVALID_ARGUMENT naming the field for a best_of outside [n, max_n], an
// unknown method, an extract pattern that does not compile or is too long,
// or a verifier the gateway does not know. nullopt-like: candidates == 0
// when the request asks for no selection.
absl::StatusOr<SelectionPlan> PlanSelection(
    const fm::v1::GenerateRequest& request, const GenerationLimits& limits,
    const std::function<fm::v1::VerifierService::Stub*(const std::string&)>&
        find_verifier);

// Holds every candidate's messages until Finish.
class SelectingSink : public ResponseSink {
 public:
  SelectingSink(const SelectionPlan& plan, ResponseSink* out);

  bool Write(fm::v1::GenerateResponse response) override;

  // Scores (calling the verifier with `prompt_text` on `server_ctx`'s
  // deadline), selects, and writes the chosen candidates and the summary.
  absl::Status Finish(const grpc::CallbackServerContext& server_ctx,
                      absl::Duration timeout, const std::string& prompt_text);

 private:
  struct Held {
    std::vector<fm::v1::GenerateResponse> messages;
    fm::v1::Candidate candidate;
  };
  absl::Status Score(const grpc::CallbackServerContext& server_ctx,
                     absl::Duration timeout, const std::string& prompt_text);
  // Candidate indices, best first.
  std::vector<int32_t> Rank();

  const SelectionPlan& plan_;
  ResponseSink* out_;
  std::vector<Held> held_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_CANDIDATE_SELECTION_H_
