// DecodeLoop: drives a generation's sequences through its model and
// sampler sessions. The prompt is prefilled once, in sequence 0; every
// other sequence is forked from it when its first token is appended (all
// share the prompt's KV cache). Then, step by step: sample every live
// sequence in one sampler call, stream each token, and in one model
// request append the tokens of the sequences still live and drop the
// finished ones — until none is live.
#ifndef FM_SERVICES_GATEWAY_DECODE_LOOP_H_
#define FM_SERVICES_GATEWAY_DECODE_LOOP_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/generated_sequence.h"
#include "services/gateway/generation_plan.h"
#include "services/gateway/model_session.h"
#include "services/gateway/response_sink.h"
#include "services/gateway/sampler_session.h"

namespace fm::gateway {

class DecodeLoop {
 public:
  // Everything passed must outlive the loop. `start`: when the request
  // arrived.
  DecodeLoop(const GenerationPlan& plan, ModelSession* model,
             SamplerSession* sampler,
             const grpc::CallbackServerContext& server_ctx, absl::Time start,
             ResponseSink* sink);

  // Runs plan.n sequences to their ends. CANCELLED when the client
  // cancels or goes away; otherwise the first session error.
  absl::Status Run();

 private:
  // Prefills the prompt and gives every sequence its logits.
  absl::Status Prefill();
  // Samples every live sequence and streams its token; returns the
  // sequences sampled, in the order of the step's inputs.
  absl::StatusOr<std::vector<GeneratedSequence*>> Sample();
  // Sends the sampled tokens to the model (forking new sequences from the
  // prompt on the first step, dropping finished ones) and stores each live
  // sequence's next logits.
  absl::Status Forward(const std::vector<GeneratedSequence*>& sampled,
                       bool first_step);

  const GenerationPlan& plan_;
  ModelSession* model_;
  SamplerSession* sampler_;
  const grpc::CallbackServerContext& server_ctx_;
  ResponseSink* sink_;
  std::vector<std::unique_ptr<GeneratedSequence>> sequences_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_DECODE_LOOP_H_
