// GenerationPlan: a Generate request validated once into typed parameters
// (as TGI's router validates), with everything resolved that the rest of
// the generation needs: the prompt's ids, the sampler chain pinned (a
// profile's name replaced by its chain), the route, what the model sends
// each step, whether the outcome may be cached and whether a lost sampler
// session may be continued. Nothing after planning reads the raw request.
#ifndef FM_SERVICES_GATEWAY_GENERATION_PLAN_H_
#define FM_SERVICES_GATEWAY_GENERATION_PLAN_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/token_id.h"
#include "fm/v1/gateway.pb.h"
#include "fm/v1/model.pb.h"
#include "fm/v1/sampler.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/candidate_selection.h"
#include "services/gateway/generation_limits.h"
#include "services/gateway/route_table.h"

namespace fm::gateway {

// When one sequence ends.
struct StopRules {
  // Generated tokens, the one that ends the sequence included.
  int32_t max_tokens = 0;
  // Tokens before which neither end-of-generation nor stop ids end it.
  int32_t min_tokens = 0;
  std::vector<TokenId> stop_token_ids;
  bool ignore_eos = false;
  std::vector<std::string> stop_strings;
  bool include_stop_string = false;
};

struct GenerationPlan {
  std::shared_ptr<const PipelineFacts> facts;
  std::shared_ptr<const SamplerRoute> route;
  std::vector<TokenId> prompt;
  // Sequences, all continuing the prompt (its KV cache shared by fork):
  // the request's n, or its best_of candidates.
  int32_t n = 1;
  // best_of: how candidates are ranked (selection.candidates 0: none).
  SelectionPlan selection;
  // Beam search (width 0: off).
  struct Beam {
    int32_t width = 0;
    double length_penalty = 1;
    bool early_stopping = false;
  } beam;
  StopRules stops;
  // Per-token logprobs, traces or shadow picks go into the responses.
  bool token_details = false;
  // The sampler session's start: the pinned chain, report options,
  // vocabulary size, the prompt as history, the seed when the request set
  // one.
  fm::v1::SamplerSessionStart sampler_start;
  // A lost sampler session may be continued from the token histories: the
  // sampler declares that no stage of the chain keeps other state, and no
  // shadow profile (whose stages are not checked) runs.
  bool sampler_resumable = false;
  // What the model sends each step (only the head of the logits when the
  // chain cannot use more).
  fm::v1::LogitsFormat logits_format;
  // The head is taken among the ids the chain's constraint allows: the
  // sampler reports them with each token (SampledToken.next_allowed_ids),
  // and a step without them (the prompt's) gets dense logits.
  bool head_among_allowed = false;
  // The response cache's key; empty when the outcome depends on unseeded
  // random draws (or which stages draw is unknown).
  std::string cache_key;
  // False when the request asked for a fresh generation (no_cache); its
  // result is still stored.
  bool read_cache = true;
};

// The checks that need nothing but the request: INVALID_ARGUMENT naming
// the field, its value and the limit.
absl::Status ValidateGenerateRequest(const fm::v1::GenerateRequest& request,
                                     const GenerationLimits& limits);

// Validates `request`, tokenizes its prompt, resolves its chain and asks the
// route's stage catalog what the chain needs. Blocking (tokenizer and
// sampler calls with the client's deadline).
absl::StatusOr<GenerationPlan> PlanGeneration(
    const Backends& backends, const GenerationLimits& limits,
    const grpc::CallbackServerContext& server_ctx,
    const fm::v1::GenerateRequest& request);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GENERATION_PLAN_H_
