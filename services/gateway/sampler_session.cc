// SamplerSession: start, steps, and continuation in a new session on loss.
#include "services/gateway/sampler_session.h"

#include <google/protobuf/util/message_differencer.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/channel_factory.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "services/gateway/downstream_context.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/session_recovery.h"

namespace fm::gateway {

SamplerSession::SamplerSession(std::shared_ptr<const SamplerRoute> route,
                               const grpc::CallbackServerContext& server_ctx,
                               const GenerationLimits& limits,
                               fm::v1::SamplerSessionStart start,
                               bool resumable)
    : route_(std::move(route)),
      server_ctx_(server_ctx),
      limits_(limits),
      resumable_(resumable) {
  *start_.mutable_start() = std::move(start);
}

absl::StatusOr<fm::v1::SamplerSessionResponse> SamplerSession::Start() {
  exchange_ = std::make_unique<SamplerExchange>(
      DownstreamContext(server_ctx_, limits_.default_timeout), "sampler");
  exchange_->Open(route_->stub->Session(exchange_->ctx()));
  if (resumes_ > 0) {
    return CallWithin(*exchange_, start_, limits_.resume_timeout);
  }
  return exchange_->Call(start_);
}

absl::Status SamplerSession::Open() {
  FM_ASSIGN_OR_RETURN(fm::v1::SamplerSessionResponse started, Start());
  seed_ = started.seed();
  chain_ = started.chain();
  return absl::OkStatus();
}

absl::StatusOr<fm::v1::SamplerSessionResponse> SamplerSession::Step(
    const fm::v1::SamplerSessionRequest& step,
    const std::vector<absl::Span<const TokenId>>& generated) {
  absl::StatusOr<fm::v1::SamplerSessionResponse> response =
      exchange_->Call(step);
  while (!response.ok() && SessionLost(server_ctx_, response.status()) &&
         resumes_ < limits_.max_resumes && resumable_) {
    ++resumes_;
    GatewayMetrics::Get().sampler_resumes->Increment();
    FM_LOG(WARNING) << "sampler session lost (" << response.status()
                    << "); continuing in a new one, attempt " << resumes_
                    << " of " << limits_.max_resumes;
    if (!WaitForReconnect(*route_->channel,
                          ResumeDeadline(server_ctx_, limits_))) {
      return absl::UnavailableError(absl::StrCat(
          "sampler: the session was lost and no replica of route '",
          route_->name, "' accepted a connection within ",
          absl::FormatDuration(limits_.resume_timeout),
          " (--resume_timeout): ", response.status().message()));
    }
    // The same seed: draws are keyed by (seed, sequence, step).
    start_.mutable_start()->set_seed(seed_);
    absl::StatusOr<fm::v1::SamplerSessionResponse> started = Start();
    if (!started.ok()) {
      response = started.status();
      continue;
    }
    // The same chain as resolved by the first session, or the continuation
    // would silently change meaning (a profile or sampler version changed).
    if (!google::protobuf::util::MessageDifferencer::Equals(started->chain(),
                                                            chain_)) {
      return absl::AbortedError(
          "sampler: the session was lost and the new one resolves the chain "
          "differently; retry the request");
    }
    fm::v1::SamplerSessionRequest resumed = step;
    for (size_t k = 0; k < generated.size(); ++k) {
      resumed.mutable_step()
          ->mutable_inputs(static_cast<int>(k))
          ->mutable_resume_generated_ids()
          ->Assign(generated[k].begin(), generated[k].end());
    }
    response = CallWithin(*exchange_, resumed, limits_.resume_timeout);
  }
  return response;
}

void SamplerSession::Close() { exchange_->Close(); }

}  // namespace fm::gateway
