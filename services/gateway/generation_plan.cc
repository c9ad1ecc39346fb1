// PlanGeneration: validation, tokenization, chain resolution, and the
// stage catalog's answers, in that order (cheap checks first).
#include "services/gateway/generation_plan.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_digest.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/utf8.h"
#include "services/gateway/constraint_spec.h"
#include "services/gateway/downstream_context.h"
#include "services/gateway/prompt.h"
#include "services/gateway/sampling_builder.h"

namespace fm::gateway {
namespace {

using fm::v1::GenerateRequest;

// The request's chain pinned: an inline or shorthand chain as built, a
// profile replaced by the chain it names now (so the cache key holds the
// chain, not a name whose meaning can change), with the request's
// constraint stage first.
absl::StatusOr<fm::v1::SamplingSpec> PinnedSampling(
    const SamplerRoute& route, const grpc::CallbackServerContext& server_ctx,
    const GenerationLimits& limits, const GenerateRequest& request) {
  FM_ASSIGN_OR_RETURN(fm::v1::SamplingSpec spec, BuildSamplingSpec(request));
  // No chain, profile or shorthand value given: the default would apply.
  const bool sampling_given =
      spec.has_chain() ||
      (request.has_sampling() && request.sampling().source_case() !=
                                     fm::v1::SamplingSpec::SOURCE_NOT_SET);
  if (request.beam_width() > 0 && !sampling_given) {
    // Beams are scored by the model's own logprobs: a chain that leaves the
    // distribution as it is (its pick is not used).
    spec.mutable_chain()->add_stages()->set_stage("dist");
  }
  if (!spec.has_chain()) {
    fm::v1::GetProfileRequest get;
    get.set_name(spec.profile());
    fm::v1::Profile profile;
    auto ctx = DownstreamContext(server_ctx, limits.default_timeout);
    grpc::Status s = route.stub->GetProfile(ctx.get(), get, &profile);
    if (!s.ok()) return FromGrpcStatus(s, "sampler");
    *spec.mutable_chain() = profile.chain();
  }
  if (request.beam_width() > 0 && spec.chain().stages_size() > 0 &&
      spec.chain().stages(spec.chain().stages_size() - 1).stage() == "greedy") {
    // Greedy collapses the processed distribution onto its pick; beams
    // need the whole of it after the filters (the pick is not used).
    auto* last =
        spec.mutable_chain()->mutable_stages(spec.chain().stages_size() - 1);
    last->set_stage("dist");
    last->clear_params();
  }
  if (request.has_constraint()) {
    // First, so that no filter before it can leave it nothing to allow.
    FM_ASSIGN_OR_RETURN(
        fm::v1::StageSpec stage,
        ConstraintStageSpec(request.constraint(), "constraint"));
    auto* stages = spec.mutable_chain()->mutable_stages();
    *stages->Add() = std::move(stage);
    std::rotate(stages->begin(), stages->end() - 1, stages->end());
  }
  return spec;
}

// The sampler session's start, from the request's report options.
fm::v1::SamplerSessionStart SamplerStart(const GenerateRequest& request,
                                         fm::v1::SamplingSpec sampling,
                                         const GenerationPlan& plan) {
  fm::v1::SamplerSessionStart start;
  *start.mutable_sampling() = std::move(sampling);
  if (request.has_seed()) start.set_seed(request.seed());
  fm::v1::SampleOptions* options = start.mutable_options();
  options->set_top_logprobs(request.top_logprobs());
  options->set_logprobs_mode(request.logprobs_mode());
  if (plan.beam.width > 0) {
    // Each beam's best 2 * width continuations after the chain (its
    // constraint and filters): enough to refill every beam after some end.
    options->set_top_logprobs(2 * plan.beam.width);
    options->set_logprobs_mode(fm::v1::LOGPROBS_MODE_PROCESSED);
  }
  options->set_trace(request.trace());
  *options->mutable_shadow_profiles() = request.shadow_profiles();
  // Each token comes with the ids allowed next, for the model's head.
  options->set_report_next_allowed(plan.head_among_allowed);
  start.set_vocab_size(plan.facts->vocab->vocab_size());
  start.set_tokenizer_sha256(plan.facts->tokenizer.model_sha256());
  start.mutable_prompt_ids()->Assign(plan.prompt.begin(), plan.prompt.end());
  return start;
}

// Everything that determines the output, serialized deterministically,
// with the identities of the model and tokenizer that produce it.
std::string CacheKey(const GenerateRequest& request,
                     const GenerationPlan& plan) {
  GenerateRequest key = request;
  key.clear_no_cache();
  key.clear_text();
  key.mutable_ids()->mutable_ids()->Assign(plan.prompt.begin(),
                                           plan.prompt.end());
  key.clear_add_bos();
  *key.mutable_sampling() = plan.sampler_start.sampling();
  key.clear_shorthand();
  key.set_sampler_route(plan.route->target);
  key.set_max_tokens(plan.stops.max_tokens);
  key.set_n(plan.n);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    key.SerializeToCodedStream(&out);
  }
  return Sha256Hex(absl::StrCat(plan.facts->model.model_sha256(), "|",
                                plan.facts->tokenizer.model_sha256(), "|",
                                bytes));
}

}  // namespace

namespace {

// Beam search's parameters, and what it cannot be combined with.
absl::StatusOr<GenerationPlan::Beam> PlanBeam(const GenerateRequest& r,
                                              int32_t n) {
  GenerationPlan::Beam beam;
  if (r.beam_width() == 0) {
    if (r.has_length_penalty() || r.early_stopping()) {
      return absl::InvalidArgumentError(
          "length_penalty and early_stopping need beam_width");
    }
    return beam;
  }
  constexpr int32_t kMaxBeamWidth = 8;
  if (r.beam_width() < 0 || r.beam_width() > kMaxBeamWidth) {
    return absl::InvalidArgumentError(
        absl::StrCat("beam_width = ", r.beam_width(), " is outside [1, ",
                     kMaxBeamWidth, "]"));
  }
  if (n > r.beam_width()) {
    return absl::InvalidArgumentError(
        absl::StrCat("n = ", n, " exceeds beam_width = ", r.beam_width(),
                     " (beam search returns at most beam_width beams)"));
  }
  const char* conflict = r.best_of() > 0                ? "best_of"
                         : r.stop_size() > 0            ? "stop"
                         : r.top_logprobs() > 0         ? "top_logprobs"
                         : r.trace()                    ? "trace"
                         : r.shadow_profiles_size() > 0 ? "shadow_profiles"
                                                        : nullptr;
  if (conflict != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(conflict, " cannot be combined with beam_width"));
  }
  beam.width = r.beam_width();
  if (r.has_length_penalty()) {
    const float lp = r.length_penalty();
    if (!(lp >= 0 && lp <= 4)) {
      return absl::InvalidArgumentError(
          absl::StrCat("length_penalty = ", lp, " is outside [0, 4]"));
    }
    beam.length_penalty = lp;
  }
  beam.early_stopping = r.early_stopping();
  return beam;
}

}  // namespace

absl::Status ValidateGenerateRequest(const GenerateRequest& r,
                                     const GenerationLimits& limits) {
  if (r.n() < 0 || r.n() > limits.max_n) {
    return absl::InvalidArgumentError(
        absl::StrCat("n = ", r.n(), " is outside [1, ", limits.max_n, "]"));
  }
  if (r.max_tokens() < 0 || r.max_tokens() > limits.max_tokens_limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens = ", r.max_tokens(), " is outside [1, ",
                     limits.max_tokens_limit, "] (--max_tokens_limit)"));
  }
  const int32_t max_tokens =
      r.max_tokens() == 0 ? limits.default_max_tokens : r.max_tokens();
  if (r.min_tokens() < 0 || r.min_tokens() > max_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_tokens = ", r.min_tokens(), " is outside [0, ",
                     max_tokens, "] (max_tokens)"));
  }
  if (r.stop_size() > limits.max_stops) {
    return absl::InvalidArgumentError(
        absl::StrCat("stop has ", r.stop_size(), " strings; at most ",
                     limits.max_stops, " are allowed"));
  }
  for (int i = 0; i < r.stop_size(); ++i) {
    const std::string& stop = r.stop(i);
    if (stop.empty() ||
        static_cast<int32_t>(stop.size()) > limits.max_stop_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop[", i, "] has ", stop.size(),
                       " bytes; it must have 1 to ", limits.max_stop_bytes));
    }
    FM_RETURN_IF_ERROR(ValidateUtf8(stop, absl::StrCat("stop[", i, "]")));
  }
  if (r.top_logprobs() < 0 || r.top_logprobs() > limits.max_top_logprobs) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_logprobs = ", r.top_logprobs(), " is outside [0, ",
                     limits.max_top_logprobs, "]"));
  }
  if (r.prompt_case() == GenerateRequest::kText) {
    FM_RETURN_IF_ERROR(ValidateUtf8(r.text(), "prompt text"));
  }
  return absl::OkStatus();
}

absl::StatusOr<GenerationPlan> PlanGeneration(
    const Backends& backends, const GenerationLimits& limits,
    const grpc::CallbackServerContext& server_ctx,
    const GenerateRequest& request) {
  FM_RETURN_IF_ERROR(ValidateGenerateRequest(request, limits));
  GenerationPlan plan;
  FM_ASSIGN_OR_RETURN(plan.facts, backends.Facts());
  FM_ASSIGN_OR_RETURN(plan.route,
                      backends.routes()->Find(request.sampler_route()));
  plan.n = request.n() == 0 ? 1 : request.n();
  FM_ASSIGN_OR_RETURN(
      plan.selection,
      PlanSelection(request, limits, [&](const std::string& name) {
        return backends.verifier(name);
      }));
  if (plan.selection.candidates > 0) plan.n = plan.selection.candidates;
  FM_ASSIGN_OR_RETURN(plan.beam, PlanBeam(request, plan.n));
  StopRules& stops = plan.stops;
  stops.max_tokens = request.max_tokens() == 0 ? limits.default_max_tokens
                                               : request.max_tokens();
  stops.min_tokens = request.min_tokens();
  stops.stop_token_ids.assign(request.stop_token_ids().begin(),
                              request.stop_token_ids().end());
  stops.ignore_eos = request.ignore_eos();
  stops.stop_strings.assign(request.stop().begin(), request.stop().end());
  stops.include_stop_string = request.include_stop_str();

  FM_ASSIGN_OR_RETURN(
      plan.prompt,
      PromptIds(backends, *plan.facts, server_ctx, limits.default_timeout,
                request.prompt_case() == GenerateRequest::kIds ? &request.ids()
                                                               : nullptr,
                request.text(), !request.has_add_bos() || request.add_bos(),
                request.parse_special()));
  const int32_t n_prompt = static_cast<int32_t>(plan.prompt.size());
  if (n_prompt > limits.max_prompt_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("the prompt has ", n_prompt, " tokens; the limit is ",
                     limits.max_prompt_tokens, " (--max_prompt_tokens)"));
  }
  const int32_t context = plan.facts->model.context_length();
  const int64_t needed = static_cast<int64_t>(n_prompt) + stops.max_tokens;
  if (needed > context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt tokens (", n_prompt, ") + max_tokens (", stops.max_tokens,
        ") = ", needed, " exceeds the model's context length ", context));
  }

  FM_ASSIGN_OR_RETURN(fm::v1::SamplingSpec sampling,
                      PinnedSampling(*plan.route, server_ctx, limits, request));
  const bool logprobs = request.logprobs() || request.top_logprobs() > 0;
  // Selection reads every candidate's logprobs (and drops them from the
  // stream when the client did not ask).
  plan.token_details = logprobs || request.trace() ||
                       request.shadow_profiles_size() > 0 ||
                       plan.selection.candidates > 0;
  // The sampler's own declarations of its stages (random or not, which
  // logits they need, whether they keep state); without them, the safe
  // choice: dense logits, no resuming, and no caching unless the request
  // has a seed.
  auto catalog_ctx = DownstreamContext(server_ctx, absl::Seconds(5));
  const std::shared_ptr<const StageCatalog> catalog =
      plan.route->Catalog(sampling.chain(), catalog_ctx.get());
  // Raw logprobs (the client's, or the ones best_of ranks its candidates
  // by) are over the whole vocabulary: a head would renormalise them.
  const bool raw_logprobs =
      (logprobs || plan.selection.candidates > 0) &&
      request.logprobs_mode() != fm::v1::LOGPROBS_MODE_PROCESSED;
  const bool needs_full_distribution =
      raw_logprobs || request.trace() || request.shadow_profiles_size() > 0;
  const StageCatalog::LogitsHead head =
      catalog == nullptr
          ? StageCatalog::LogitsHead{}
          : catalog->SufficientHead(sampling.chain(), needs_full_distribution);
  plan.logits_format.set_top_k(
      std::min(head.top_k, plan.facts->model.vocab_size()));
  plan.head_among_allowed = head.among_allowed;
  plan.sampler_resumable = catalog != nullptr &&
                           catalog->ChainCanResume(sampling.chain()) &&
                           request.shadow_profiles_size() == 0;
  const bool deterministic =
      request.has_seed() ||
      (catalog != nullptr && catalog->ChainIsDeterministic(sampling.chain()));
  plan.sampler_start = SamplerStart(request, std::move(sampling), plan);
  // A verifier's answers may change: its selections are not cached.
  const bool verified = plan.selection.method == fm::v1::Selection::VERIFIER &&
                        plan.selection.candidates > 0;
  if (deterministic && !verified) plan.cache_key = CacheKey(request, plan);
  plan.read_cache = !request.no_cache();
  return plan;
}

}  // namespace fm::gateway
