// Score: the logprob of every token of given continuations after a prompt,
// their sum, mean and perplexity, and the continuations ranked — the
// chapter's use of logprobs for evaluation and classification.
#ifndef FM_SERVICES_GATEWAY_SCORE_H_
#define FM_SERVICES_GATEWAY_SCORE_H_

#include "absl/status/status.h"
#include "fm/v1/gateway.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/generation_limits.h"

namespace fm::gateway {

// Blocking: call on a worker thread. One model session: the prompt is
// prefilled once in sequence 0 and every continuation is scored in a fork
// of it, all in one batched forward pass.
absl::Status RunScore(const Backends& backends, const GenerationLimits& limits,
                      const grpc::CallbackServerContext& server_ctx,
                      const fm::v1::ScoreRequest& request,
                      fm::v1::ScoreResponse* response);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_SCORE_H_
