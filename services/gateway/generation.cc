// RunGeneration: plan -> cache -> sessions -> decode loop -> cache.
#include "services/gateway/generation.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "services/gateway/beam_search.h"
#include "services/gateway/candidate_selection.h"
#include "services/gateway/decode_loop.h"
#include "services/gateway/generation_plan.h"
#include "services/gateway/model_session.h"
#include "services/gateway/sampler_session.h"

namespace fm::gateway {
namespace {

// Stamps each message with the session's seed and keeps a copy for the
// response cache when the outcome is cacheable.
class StampingSink : public ResponseSink {
 public:
  StampingSink(ResponseSink* client, const SamplerSession* sampler, bool record)
      : client_(client), sampler_(sampler), record_(record) {}

  bool Write(fm::v1::GenerateResponse response) override {
    response.set_seed(sampler_->seed());
    if (record_) recorded_.push_back(response);
    return client_->Write(std::move(response));
  }
  std::vector<fm::v1::GenerateResponse> TakeRecorded() {
    return std::move(recorded_);
  }

 private:
  ResponseSink* client_;
  const SamplerSession* sampler_;
  const bool record_;
  std::vector<fm::v1::GenerateResponse> recorded_;
};

// Replays a cached generation; false when it was not in the cache.
absl::StatusOr<bool> ReplayFromCache(ResponseCache& cache,
                                     const std::string& key,
                                     ResponseSink* sink) {
  auto hit = cache.Get(key);
  if (!hit) return false;
  for (fm::v1::GenerateResponse response : *hit) {
    response.set_cache_hit(true);
    if (!sink->Write(std::move(response))) {
      return absl::CancelledError("the client went away");
    }
  }
  return true;
}

absl::Status Generate(const Backends& backends, ResponseCache* cache,
                      const GenerationLimits& limits,
                      const grpc::CallbackServerContext& server_ctx,
                      const fm::v1::GenerateRequest& request,
                      ResponseSink* sink) {
  const absl::Time start = absl::Now();
  FM_ASSIGN_OR_RETURN(const GenerationPlan plan,
                      PlanGeneration(backends, limits, server_ctx, request));
  const bool cacheable = cache != nullptr && !plan.cache_key.empty();
  if (cacheable && plan.read_cache) {
    FM_ASSIGN_OR_RETURN(bool replayed,
                        ReplayFromCache(*cache, plan.cache_key, sink));
    if (replayed) return absl::OkStatus();
  }

  ModelSession model(backends, server_ctx, limits,
                     plan.facts->model.model_sha256(), plan.logits_format,
                     plan.head_among_allowed);
  SamplerSession sampler(plan.route, server_ctx, limits, plan.sampler_start,
                         plan.sampler_resumable);
  FM_RETURN_IF_ERROR(sampler.Open());
  StampingSink stamped(sink, &sampler, cacheable);
  std::optional<SelectingSink> selecting;
  if (plan.selection.candidates > 0)
    selecting.emplace(plan.selection, &stamped);
  if (plan.beam.width > 0) {
    BeamSearch beams(plan, &model, &sampler, server_ctx, start, &stamped);
    FM_RETURN_IF_ERROR(beams.Run());
  } else {
    DecodeLoop loop(
        plan, &model, &sampler, server_ctx, start,
        selecting ? static_cast<ResponseSink*>(&*selecting) : &stamped);
    FM_RETURN_IF_ERROR(loop.Run());
  }
  model.Close();
  sampler.Close();
  if (selecting) {
    absl::StatusOr<std::string> prompt = plan.facts->vocab->Decode(plan.prompt);
    FM_RETURN_IF_ERROR(prompt.status());
    FM_RETURN_IF_ERROR(
        selecting->Finish(server_ctx, limits.default_timeout, *prompt));
  }
  // A resumed generation's logits came partly from a re-prefill, whose
  // rounding can differ from decoding: do not replay it to others.
  if (cacheable && model.resumes() == 0 && sampler.resumes() == 0) {
    cache->Put(plan.cache_key, stamped.TakeRecorded());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunGeneration(const Backends& backends, ResponseCache* cache,
                           const GenerationLimits& limits,
                           const grpc::CallbackServerContext& server_ctx,
                           const fm::v1::GenerateRequest& request,
                           ResponseSink* sink) {
  absl::Status status =
      Generate(backends, cache, limits, server_ctx, request, sink);
  if (!status.ok() && server_ctx.IsCancelled()) {
    return absl::CancelledError("the client cancelled the generation");
  }
  return status;
}

}  // namespace fm::gateway
