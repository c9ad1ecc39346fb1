// BeamSearch: a generation's beams driven through its model and sampler
// sessions. The prompt is prefilled once; every step the sampler scores
// each live beam's continuations (its top 2 * width processed logprobs, so
// the chain's constraint and filters apply: constrained beam search), the
// width best (beam, token) pairs by total logprob become the next beams —
// each forked from its parent in the model (KV cache shared up to the
// fork) and continued in the sampler from its history — and those ending
// in an end-of-generation id are finished, scored sum / length^penalty.
// At the end the n best finished beams stream as sequences 0..n-1, then
// one message lists every finished beam as a Candidate.
#ifndef FM_SERVICES_GATEWAY_BEAM_SEARCH_H_
#define FM_SERVICES_GATEWAY_BEAM_SEARCH_H_

#include <grpcpp/grpcpp.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/token_id.h"
#include "services/gateway/generation_plan.h"
#include "services/gateway/model_session.h"
#include "services/gateway/response_sink.h"
#include "services/gateway/sampler_session.h"

namespace fm::gateway {

class BeamSearch {
 public:
  // Everything passed must outlive the search; plan.beam.width > 0.
  BeamSearch(const GenerationPlan& plan, ModelSession* model,
             SamplerSession* sampler,
             const grpc::CallbackServerContext& server_ctx, absl::Time start,
             ResponseSink* sink);

  // CANCELLED when the client cancels or goes away; otherwise the first
  // session error.
  absl::Status Run();

 private:
  struct Hypothesis {
    std::vector<TokenId> tokens;
    std::vector<float> logprobs;  // processed, one per token
    double sum = 0;
    int32_t model_sequence = 0;
    fm::v1::Logits logits;  // of its next step (live beams)
  };
  struct Finished {
    Hypothesis beam;
    double score = 0;
    fm::v1::FinishReason reason = fm::v1::FINISH_REASON_UNSPECIFIED;
  };
  // A live beam's continuation by one token.
  struct Expansion {
    int32_t beam;
    TokenId token;
    float logprob;
    double total;
  };

  absl::Status Prefill();
  // Every live beam's candidate continuations, best first.
  absl::StatusOr<std::vector<Expansion>> Expand(int32_t step);
  // Forks the chosen expansions into the model's other bank of sequence
  // ids, appends their tokens, drops the old beams, and stores the logits.
  absl::Status Forward(std::vector<Hypothesis> next, int32_t step);
  // True when the search may stop (see early_stopping).
  bool Done() const;
  double Score(double sum, size_t length) const;
  absl::Status Emit();

  const GenerationPlan& plan_;
  ModelSession* model_;
  SamplerSession* sampler_;
  const grpc::CallbackServerContext& server_ctx_;
  const absl::Time start_;
  ResponseSink* sink_;
  const int32_t width_;
  std::vector<Hypothesis> live_;
  std::vector<Finished> finished_;
  std::vector<int32_t> sampler_sequences_;  // of the last step, to drop
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_BEAM_SEARCH_H_
