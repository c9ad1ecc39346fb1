// SamplerSession: a generation's session on a sampler route, which owns its
// recovery. The first start pins what the session means (the seed it
// drew or was given, the chain as the sampler resolved it); a stream lost
// mid-generation is replaced by a new session with the same seed and chain
// that continues every sequence from its sampled tokens — when the chain's
// stages keep no state beyond the history (the plan says so).
#ifndef FM_SERVICES_GATEWAY_SAMPLER_SESSION_H_
#define FM_SERVICES_GATEWAY_SAMPLER_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/token_id.h"
#include "fm/v1/sampler.pb.h"
#include "services/gateway/exchange.h"
#include "services/gateway/generation_limits.h"
#include "services/gateway/route_table.h"

namespace fm::gateway {

class SamplerSession {
 public:
  // `start`: the session's chain, options, vocabulary size, prompt and
  // (optional) seed. `resumable`: whether a lost session may be continued
  // in a new one.
  SamplerSession(std::shared_ptr<const SamplerRoute> route,
                 const grpc::CallbackServerContext& server_ctx,
                 const GenerationLimits& limits,
                 fm::v1::SamplerSessionStart start, bool resumable);

  // Opens the session; the sampler's status when it refuses the start (a
  // bad chain, an unknown profile).
  absl::Status Open();

  // The seed the session draws with (the request's, or the sampler's pick).
  uint64_t seed() const { return seed_; }

  // One sampling step over `step.inputs`. `generated[k]`: the tokens
  // sampled so far for input k's sequence, which a replacement session is
  // given to continue it (up to limits.max_resumes times per session).
  absl::StatusOr<fm::v1::SamplerSessionResponse> Step(
      const fm::v1::SamplerSessionRequest& step,
      const std::vector<absl::Span<const TokenId>>& generated);

  void Close();

  // How many times the session was replaced.
  int32_t resumes() const { return resumes_; }

 private:
  absl::StatusOr<fm::v1::SamplerSessionResponse> Start();

  const std::shared_ptr<const SamplerRoute> route_;
  const grpc::CallbackServerContext& server_ctx_;
  const GenerationLimits& limits_;
  fm::v1::SamplerSessionRequest start_;
  const bool resumable_;
  std::unique_ptr<SamplerExchange> exchange_;
  uint64_t seed_ = 0;
  fm::v1::SamplerChain chain_;  // as the first session resolved it
  int32_t resumes_ = 0;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_SAMPLER_SESSION_H_
