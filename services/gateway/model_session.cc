// ModelSession: calls with rebuild on loss.
#include "services/gateway/model_session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/gateway/downstream_context.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/session_recovery.h"

namespace fm::gateway {

ModelSession::ModelSession(const Backends& backends,
                           const grpc::CallbackServerContext& server_ctx,
                           const GenerationLimits& limits,
                           std::string model_sha256,
                           fm::v1::LogitsFormat logits_format,
                           bool head_among_allowed)
    : backends_(backends),
      server_ctx_(server_ctx),
      limits_(limits),
      model_sha256_(std::move(model_sha256)),
      logits_format_(std::move(logits_format)),
      head_among_allowed_(head_among_allowed) {
  Open();
}

fm::v1::LogitsFormat ModelSession::FormatFor(
    const fm::v1::SessionRequest& request) const {
  if (head_among_allowed_) {
    for (const fm::v1::SequenceOp& op : request.ops()) {
      if (op.has_append() && op.append().allowed_ids().empty()) {
        fm::v1::LogitsFormat dense = logits_format_;
        dense.clear_top_k();
        return dense;
      }
    }
  }
  return logits_format_;
}

void ModelSession::Open() {
  exchange_ = std::make_unique<ModelExchange>(
      DownstreamContext(server_ctx_, limits_.default_timeout), "model");
  exchange_->Open(backends_.model()->Session(exchange_->ctx()));
}

absl::StatusOr<fm::v1::SessionResponse> ModelSession::Call(
    fm::v1::SessionRequest request) {
  *request.mutable_logits_format() = FormatFor(request);
  mirror_.Apply(request);
  absl::StatusOr<fm::v1::SessionResponse> response = exchange_->Call(request);
  while (!response.ok() && SessionLost(server_ctx_, response.status()) &&
         resumes_ < limits_.max_resumes) {
    ++resumes_;
    GatewayMetrics::Get().model_resumes->Increment();
    FM_LOG(WARNING) << "model session lost (" << response.status()
                    << "); rebuilding it, attempt " << resumes_ << " of "
                    << limits_.max_resumes;
    if (!backends_.WaitForModel(ResumeDeadline(server_ctx_, limits_))) {
      return absl::UnavailableError(absl::StrCat(
          "model: the session was lost and no model replica accepted a "
          "connection within ",
          absl::FormatDuration(limits_.resume_timeout),
          " (--resume_timeout): ", response.status().message()));
    }
    response = Resume(request);
  }
  return response;
}

absl::StatusOr<fm::v1::SessionResponse> ModelSession::Resume(
    const fm::v1::SessionRequest& failed) {
  Open();
  // The rebuild's appends carry no allowed ids: dense when the head needs
  // them (the failed request's answer is the rebuild's, see Call).
  FM_ASSIGN_OR_RETURN(ModelMirror::Rebuild rebuild,
                      mirror_.MakeRebuild(logits_format_));
  *rebuild.request.mutable_logits_format() = FormatFor(rebuild.request);
  FM_ASSIGN_OR_RETURN(
      fm::v1::SessionResponse rebuilt,
      CallWithin(*exchange_, rebuild.request, limits_.resume_timeout));
  // The same model (the replica that computed the rebuild says which), or
  // the continuation would silently change meaning.
  if (rebuilt.model_sha256() != model_sha256_) {
    return absl::AbortedError(absl::StrCat(
        "model: the session was lost and the replica that took it over "
        "serves another model (sha256 ",
        rebuilt.model_sha256().substr(0, 12), ", was ",
        model_sha256_.substr(0, 12), "); retry the request"));
  }
  return ModelMirror::AnswerFromRebuild(failed, rebuild, rebuilt);
}

void ModelSession::Close() { exchange_->Close(); }

absl::StatusOr<fm::v1::Logits> ModelSession::Prefill(
    absl::Span<const TokenId> prompt) {
  fm::v1::SessionRequest prefill;
  fm::v1::AppendOp* append = prefill.add_ops()->mutable_append();
  append->set_sequence_id(0);
  append->mutable_token_ids()->Assign(prompt.begin(), prompt.end());
  FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse prefilled,
                      Call(std::move(prefill)));
  if (prefilled.results_size() != 1 ||
      prefilled.results(0).logits_size() != 1) {
    return absl::InternalError("model: malformed prefill response");
  }
  return std::move(*prefilled.mutable_results(0)->mutable_logits(0));
}

}  // namespace fm::gateway
