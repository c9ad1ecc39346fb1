// SamplerServiceImpl: request validation, chain resolution (inline or by
// profile), per-sequence sampling state, shadows, and the Session reactor.
#include "services/sampler/sampler_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/chain_proto_json.h"
#include "common/logits_codec.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/unary_call.h"
#include "services/sampler/chain_json.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/sampler_metrics.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

absl::StatusOr<ChainSpec> SpecFromProto(const fm::v1::SamplerChain& chain) {
  return ParseChainJson(::fm::ChainToJson(chain));
}

fm::v1::SamplerChain SpecToProto(const ChainSpec& spec) {
  auto chain = ::fm::ChainFromJson(ChainToJson(spec));
  return chain.ok() ? *chain : fm::v1::SamplerChain();
}

SampleOptions ToCoreOptions(const fm::v1::SampleOptions& o, int64_t vocab) {
  SampleOptions options;
  options.top_n = o.top_logprobs();
  options.logprob_mode = o.logprobs_mode() == fm::v1::LOGPROBS_MODE_PROCESSED
                             ? LogprobMode::kProcessed
                             : LogprobMode::kRaw;
  options.trace = o.trace();
  options.trace_top = o.trace_top() > 0 ? o.trace_top() : 5;
  options.vocab_size = vocab;
  options.report_next_allowed = o.report_next_allowed();
  return options;
}

absl::Status CheckHistory(absl::Span<const int32_t> ids, int32_t vocab,
                          absl::string_view field) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "] = ", ids[i], " is outside [0, ", vocab,
                       ") (vocabulary size)"));
    }
  }
  return absl::OkStatus();
}

// The sampling state of one sequence: its chain (with history) and the
// shadow chains that follow the same tokens.
struct SequenceState {
  std::unique_ptr<SamplerChain> chain;
  std::vector<std::pair<std::string, std::unique_ptr<SamplerChain>>> shadows;
  int64_t step = 0;
};

// A request's chains bound to the sampler's vocabulary: the main chain and
// each shadow profile's, copied once per session (or Sample call) so that
// every sequence clones a bound chain.
struct BoundChains {
  std::unique_ptr<SamplerChain> chain;
  std::vector<std::pair<std::string, std::unique_ptr<SamplerChain>>> shadows;
};

// FAILED_PRECONDITION when `tokenizer_sha256` (if set) names another
// tokenizer than the one `vocabulary` came from.
absl::Status CheckTokenizer(const SessionVocabulary& vocabulary,
                            const std::string& tokenizer_sha256) {
  if (tokenizer_sha256.empty() || vocabulary.tokens == nullptr ||
      tokenizer_sha256 == vocabulary.tokens->tokenizer_sha256) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the request's tokenizer (sha256 ", tokenizer_sha256.substr(0, 12),
      ") is not the one this sampler's vocabulary came from (sha256 ",
      vocabulary.tokens->tokenizer_sha256.substr(0, 12),
      "); point fm-sampler's --tokenizer at the pipeline's tokenizer"));
}

// The value at fraction `q` of sorted `v` (nearest rank); 0 when empty.
double Quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

bool NeedsVocabulary(const SamplerChain& chain) {
  for (size_t i = 0; i < chain.size(); ++i) {
    const StageInfo* info = FindStage(chain.stage(i).Name());
    if (info != nullptr && info->needs_vocabulary) return true;
  }
  return false;
}

// FAILED_PRECONDITION when a stage needs a vocabulary the sampler lacks, or
// when `tokenizer_sha256` (if set) names another tokenizer than the one
// the sampler's vocabulary came from.
absl::StatusOr<BoundChains> BindChains(
    const ResolvedChain& resolved,
    const std::vector<std::shared_ptr<const Profile>>& shadows,
    const VocabularySource& vocabularies, const std::string& tokenizer_sha256,
    int32_t vocab_size) {
  BoundChains bound;
  bound.chain = resolved.prototype->CloneChain();
  for (const auto& shadow : shadows) {
    bound.shadows.emplace_back(shadow->name, shadow->prototype->CloneChain());
  }
  bool needs = NeedsVocabulary(*bound.chain);
  for (const auto& [name, chain] : bound.shadows)
    needs |= NeedsVocabulary(*chain);
  if (!needs) return bound;
  // On the executor: a sampler that just started may wait a moment for its
  // first vocabulary rather than refuse the request.
  const SessionVocabulary vocabulary = vocabularies.Current(absl::Seconds(5));
  if (vocabulary.tokens != nullptr) {
    FM_RETURN_IF_ERROR(CheckTokenizer(vocabulary, tokenizer_sha256));
    // A model may pad its vocabulary past the tokenizer's; fewer logits
    // than tokens means another vocabulary.
    if (vocab_size > 0 && vocab_size < vocabulary.tokens->size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the logits have ", vocab_size,
                       " entries but the sampler's "
                       "vocabulary has ",
                       vocabulary.tokens->size(), " tokens"));
    }
  }
  if (absl::Status s = bound.chain->BindVocabulary(vocabulary); !s.ok()) {
    return s;
  }
  for (auto& [name, chain] : bound.shadows) {
    if (absl::Status s = chain->BindVocabulary(vocabulary); !s.ok()) {
      return Annotate(s, absl::StrCat("shadow profile '", name, "'"));
    }
  }
  return bound;
}

// A new sequence: clones of the bound chains, fed the prompt and the tokens
// already generated for it (a sequence resumed from another session).
SequenceState NewSequenceState(const BoundChains& bound,
                               absl::Span<const int32_t> prompt,
                               absl::Span<const int32_t> generated) {
  SequenceState state;
  state.chain = bound.chain->CloneChain();
  for (int32_t id : prompt) state.chain->AcceptPrompt(id);
  for (int32_t id : generated) state.chain->Accept(id);
  for (const auto& [name, prototype] : bound.shadows) {
    auto chain = prototype->CloneChain();
    for (int32_t id : prompt) chain->AcceptPrompt(id);
    for (int32_t id : generated) chain->Accept(id);
    state.shadows.emplace_back(name, std::move(chain));
  }
  state.step = static_cast<int64_t>(generated.size());
  return state;
}

// One draw for one sequence; fills `out` and advances the state.
absl::Status SampleStep(SequenceState& state, absl::Span<const float> logits,
                        uint64_t seed, int32_t sequence,
                        const SampleOptions& options,
                        fm::v1::SampledToken* out) {
  SamplingContext ctx{Rng(seed, static_cast<uint32_t>(sequence),
                          static_cast<uint64_t>(state.step)),
                      static_cast<uint64_t>(state.step)};
  auto result = state.chain->Sample(logits, ctx, options);
  if (!result.ok()) return result.status();
  out->set_sequence_index(sequence);
  out->set_step(static_cast<int32_t>(state.step));
  out->set_id(result->token);
  out->set_logprob(result->logprob);
  for (const TokenLogprob& t : result->top) {
    fm::v1::TokenLogprob* p = out->add_top_logprobs();
    p->set_id(t.id);
    p->set_logprob(t.logprob);
  }
  for (const StageTrace& t : result->trace) {
    fm::v1::StageTrace* p = out->add_trace();
    p->set_stage(t.stage);
    p->set_candidates(static_cast<int32_t>(t.candidates));
    p->set_micros(t.micros);
    for (const TokenData& d : t.top) {
      fm::v1::TokenProb* tp = p->add_top();
      tp->set_id(d.id);
      tp->set_prob(d.prob);
    }
  }
  // Shadows draw from the same (seed, sequence, step) stream, then follow
  // the real token so their history matches the sequence.
  SampleOptions shadow_options;
  shadow_options.vocab_size = options.vocab_size;
  shadow_options.logprob_mode = LogprobMode::kProcessed;
  shadow_options.accept = false;
  for (auto& [name, chain] : state.shadows) {
    SamplingContext shadow_ctx{Rng(seed, static_cast<uint32_t>(sequence),
                                   static_cast<uint64_t>(state.step)),
                               static_cast<uint64_t>(state.step)};
    auto pick = chain->Sample(logits, shadow_ctx, shadow_options);
    chain->Accept(result->token);
    fm::v1::ShadowPick* p = out->add_shadows();
    p->set_profile(name);
    if (pick.ok()) {
      p->set_id(pick->token);
      p->set_logprob(pick->logprob);
    } else {
      p->set_id(-1);  // the shadow chain left no candidate
    }
  }
  // After the token was accepted: the set of the next step. Only the first
  // stage's: a head among its ids is what the rest of the chain would see.
  if (options.report_next_allowed && state.chain->size() > 0) {
    std::string allowed;
    if (state.chain->mutable_stage(0).AllowedNext(options.vocab_size,
                                                  &allowed)) {
      out->set_next_allowed_ids(std::move(allowed));
    }
  }
  ++state.step;
  return absl::OkStatus();
}

std::string ParamDefaultJson(const ParamInfo& param) {
  StageSpec one{"x", {{param.name, param.default_value}}};
  nlohmann::json json = ChainSpecToJson({one});
  return json[0][param.name].dump();
}

}  // namespace

uint64_t FreshSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

SamplerServiceImpl::SamplerServiceImpl(ProfileStore* profiles,
                                       SamplerServiceLimits limits, int threads,
                                       const VocabularySource* vocabularies)
    : profiles_(profiles),
      limits_(limits),
      vocabularies_(vocabularies != nullptr ? vocabularies : &no_vocabulary_),
      executor_(threads) {}

absl::StatusOr<ResolvedChain> SamplerServiceImpl::Resolve(
    const fm::v1::SamplingSpec& spec) const {
  ResolvedChain resolved;
  if (spec.has_chain()) {
    auto parsed = SpecFromProto(spec.chain());
    if (!parsed.ok()) return parsed.status();
    auto chain = BuildChain(*parsed);
    if (!chain.ok()) return chain.status();
    resolved.name = "inline";
    resolved.spec = *std::move(parsed);
    resolved.prototype = std::shared_ptr<const SamplerChain>(std::move(*chain));
    return resolved;
  }
  const std::string name =
      spec.profile().empty() ? std::string(kDefaultProfile) : spec.profile();
  auto profile = profiles_->Get(name);
  if (!profile.ok()) return profile.status();
  resolved.name = name;
  resolved.spec = (*profile)->spec;
  resolved.prototype = (*profile)->prototype;
  return resolved;
}

absl::Status SamplerServiceImpl::ValidateOptions(
    const fm::v1::SampleOptions& options) const {
  if (options.top_logprobs() < 0 ||
      options.top_logprobs() > limits_.max_top_logprobs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.top_logprobs = ", options.top_logprobs(), " is outside [0, ",
        limits_.max_top_logprobs, "] (--max_top_logprobs)"));
  }
  if (options.trace_top() < 0 || options.trace_top() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.trace_top = ", options.trace_top(), " is outside [0, 64]"));
  }
  if (!fm::v1::LogprobsMode_IsValid(options.logprobs_mode())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.logprobs_mode = ", options.logprobs_mode(),
                     " is not a LogprobsMode"));
  }
  if (options.shadow_profiles_size() > limits_.max_shadows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.shadow_profiles has ", options.shadow_profiles_size(),
        " entries; the limit is ", limits_.max_shadows));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::vector<std::shared_ptr<const Profile>>> ResolveShadows(
    const ProfileStore& store, const fm::v1::SampleOptions& options) {
  std::vector<std::shared_ptr<const Profile>> shadows;
  for (const std::string& name : options.shadow_profiles()) {
    auto profile = store.Get(name);
    if (!profile.ok()) {
      return Annotate(profile.status(), "options.shadow_profiles");
    }
    shadows.push_back(*profile);
  }
  return shadows;
}

}  // namespace

absl::Status SamplerServiceImpl::DoSample(
    const fm::v1::SampleRequest& request,
    fm::v1::SampleResponse* response) const {
  absl::Status valid = ValidateOptions(request.options());
  if (!valid.ok()) return valid;
  if (request.inputs_size() == 0 ||
      request.inputs_size() > limits_.max_inputs) {
    return absl::InvalidArgumentError(
        absl::StrCat("inputs has ", request.inputs_size(),
                     " entries; it must be in [1, ", limits_.max_inputs, "]"));
  }
  auto resolved = Resolve(request.sampling());
  if (!resolved.ok()) return resolved.status();
  auto shadows = ResolveShadows(*profiles_, request.options());
  if (!shadows.ok()) return shadows.status();
  const uint64_t seed = request.has_seed() ? request.seed() : FreshSeed();
  auto bound = BindChains(*resolved, *shadows, *vocabularies_, "",
                          /*vocab_size=*/0);
  if (!bound.ok()) return bound.status();
  std::vector<float> logits;
  StageSeconds stage_seconds;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const fm::v1::SampleInput& input = request.inputs(i);
    const std::string where = absl::StrCat("inputs[", i, "]");
    if (input.logits().vocab_size() > limits_.max_vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".logits.vocab_size = ", input.logits().vocab_size(),
          " exceeds the limit ", limits_.max_vocab_size));
    }
    absl::Status s = DecodeLogits(input.logits(), 0, &logits);
    if (!s.ok()) return Annotate(s, where);
    const int32_t vocab = input.logits().vocab_size();
    if (input.sequence_index() < 0 || input.step() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": sequence_index = ", input.sequence_index(),
                       " and step = ", input.step(), " must be >= 0"));
    }
    s = CheckHistory(input.history(), vocab, where + ".history");
    if (!s.ok()) return s;
    // The last `step` tokens of the history were generated (a client may
    // send fewer); the rest is the prompt.
    const absl::Span<const int32_t> history(input.history().data(),
                                            input.history_size());
    const size_t n_generated =
        std::min(history.size(), static_cast<size_t>(input.step()));
    const size_t n_prompt = history.size() - n_generated;
    SequenceState state = NewSequenceState(*bound, history.subspan(0, n_prompt),
                                           history.subspan(n_prompt));
    state.step = input.step();
    SampleOptions options = ToCoreOptions(request.options(), vocab);
    options.stage_timer = &stage_seconds;
    s = SampleStep(state, logits, seed, input.sequence_index(), options,
                   response->add_tokens());
    if (!s.ok()) return Annotate(s, where);
  }
  response->set_seed(seed);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SamplerServiceImpl::Sample(
    grpc::CallbackServerContext* ctx, const fm::v1::SampleRequest* request,
    fm::v1::SampleResponse* response) {
  sample_calls_.fetch_add(1, std::memory_order_relaxed);
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    absl::Status s = DoSample(*request, response);
    if (s.ok()) {
      tokens_sampled_.fetch_add(response->tokens_size(),
                                std::memory_order_relaxed);
    }
    return s;
  });
}

// One generation's sampler session: read -> sample on the executor ->
// write -> read. One operation outstanding at a time.
class SamplerServiceImpl::SessionReactor final
    : public grpc::ServerBidiReactor<fm::v1::SamplerSessionRequest,
                                     fm::v1::SamplerSessionResponse> {
 public:
  explicit SessionReactor(SamplerServiceImpl* service) : service_(service) {
    service_->sessions_opened_.fetch_add(1, std::memory_order_relaxed);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    // A step over a few dense vectors (or any sparse ones) is tens of
    // microseconds of bounded compute: run it right here, saving a thread
    // hand-off per generated token. Larger steps, the start (which may
    // compile a constraint) and constrained steps go to the executor.
    if (request_.has_step() && !constrained_ &&
        StepEntries() <= kInlineEntries) {
      Step();
      return;
    }
    if (!service_->executor_.Submit([this] { Step(); })) {
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "sampler: server busy: work queue is full"));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "sampler: session stream broken"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override {
    service_->sessions_closed_.fetch_add(1, std::memory_order_relaxed);
    delete this;
  }

 private:
  // Logit entries a step may hold and still run in the reaction.
  static constexpr int64_t kInlineEntries = 1 << 17;

  int64_t StepEntries() const {
    if (!request_.has_step()) return 0;
    // Every input is expanded to the whole vocabulary before sampling.
    return static_cast<int64_t>(request_.step().inputs_size()) *
           std::max(vocab_size_, 1);
  }

  void Step() {
    response_.Clear();
    absl::Status s;
    if (request_.has_start()) {
      if (started_) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "sampler: session already started"));
        return;
      }
      s = Start(request_.start());
      if (!s.ok()) {  // nothing to continue with
        Finish(ToGrpcStatus(s));
        return;
      }
    } else if (!started_) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "sampler: the first message must be `start`"));
      return;
    } else {
      s = RunStep(request_.step());
      if (s.ok()) {
        service_->tokens_sampled_.fetch_add(response_.tokens_size(),
                                            std::memory_order_relaxed);
      } else {
        response_.clear_tokens();
        response_.mutable_error()->set_code(static_cast<int>(s.code()));
        response_.mutable_error()->set_message(std::string(s.message()));
      }
    }
    StartWrite(&response_);
  }

  absl::Status Start(const fm::v1::SamplerSessionStart& start) {
    absl::Status s = service_->ValidateOptions(start.options());
    if (!s.ok()) return s;
    if (start.vocab_size() <= 0 ||
        start.vocab_size() > service_->limits_.max_vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "start.vocab_size = ", start.vocab_size(), " is outside [1, ",
          service_->limits_.max_vocab_size, "]"));
    }
    s = CheckHistory(start.prompt_ids(), start.vocab_size(),
                     "start.prompt_ids");
    if (!s.ok()) return s;
    auto resolved = service_->Resolve(start.sampling());
    if (!resolved.ok()) return resolved.status();
    auto shadows = ResolveShadows(*service_->profiles_, start.options());
    if (!shadows.ok()) return shadows.status();
    auto bound = BindChains(*resolved, *shadows, *service_->vocabularies_,
                            start.tokenizer_sha256(), start.vocab_size());
    if (!bound.ok()) return bound.status();
    resolved_ = *std::move(resolved);
    bound_ = *std::move(bound);
    constrained_ = NeedsVocabulary(*bound_.chain);
    for (const auto& [name, chain] : bound_.shadows) {
      constrained_ |= NeedsVocabulary(*chain);
    }
    seed_ = start.has_seed() ? start.seed() : FreshSeed();
    options_ = ToCoreOptions(start.options(), start.vocab_size());
    options_.stage_timer = &stage_seconds_;
    vocab_size_ = start.vocab_size();
    prompt_.assign(start.prompt_ids().begin(), start.prompt_ids().end());
    started_ = true;
    response_.set_seed(seed_);
    *response_.mutable_chain() = SpecToProto(resolved_.spec);
    return absl::OkStatus();
  }

  absl::Status RunStep(const fm::v1::SamplerSessionStep& step) {
    if (step.inputs_size() == 0 ||
        step.inputs_size() > service_->limits_.max_inputs) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step.inputs has ", step.inputs_size(),
          " entries; it must be in [1, ", service_->limits_.max_inputs, "]"));
    }
    if (step.drop_sequences_size() > service_->limits_.max_sequences) {
      return absl::InvalidArgumentError(
          absl::StrCat("step.drop_sequences has ", step.drop_sequences_size(),
                       " entries; at most ", service_->limits_.max_sequences));
    }
    // Dropped first: their indices may come again in this step's inputs.
    for (int32_t seq : step.drop_sequences()) sequences_.erase(seq);
    // Every input is checked before any sequence advances.
    logits_.resize(step.inputs_size());
    for (int i = 0; i < step.inputs_size(); ++i) {
      const std::string where = absl::StrCat("step.inputs[", i, "]");
      if (step.inputs(i).sequence_index() < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".sequence_index = ", step.inputs(i).sequence_index(),
            " must be >= 0"));
      }
      if (sequences_.count(step.inputs(i).sequence_index()) == 0 &&
          static_cast<int32_t>(sequences_.size()) + i >=
              service_->limits_.max_sequences) {
        return absl::ResourceExhaustedError(absl::StrCat(
            where, ": the session already samples ", sequences_.size(),
            " sequences (max ", service_->limits_.max_sequences, ")"));
      }
      absl::Status s =
          DecodeLogits(step.inputs(i).logits(), vocab_size_, &logits_[i]);
      if (!s.ok()) return Annotate(s, where);
    }
    std::set<int32_t> indices;
    for (int i = 0; i < step.inputs_size(); ++i) {
      const fm::v1::SessionStepInput& input = step.inputs(i);
      if (!indices.insert(input.sequence_index()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "step.inputs[", i, "].sequence_index = ", input.sequence_index(),
            " appears twice in one step"));
      }
      if (input.resume_generated_ids_size() == 0) continue;
      const std::string where = absl::StrCat("step.inputs[", i, "]");
      if (sequences_.count(input.sequence_index()) > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".resume_generated_ids: sequence ", input.sequence_index(),
            " already exists in this session"));
      }
      absl::Status s = CheckHistory(input.resume_generated_ids(), vocab_size_,
                                    where + ".resume_generated_ids");
      if (!s.ok()) return s;
    }
    // Sequences this step creates; removed again if the step fails, so a
    // retry of the same step finds the session as before.
    std::vector<int32_t> created;
    for (int i = 0; i < step.inputs_size(); ++i) {
      const fm::v1::SessionStepInput& input = step.inputs(i);
      const int32_t seq = input.sequence_index();
      auto it = sequences_.find(seq);
      if (it == sequences_.end()) {
        // A new sequence: the prompt, then what another session sampled.
        SequenceState state = NewSequenceState(
            bound_, prompt_,
            absl::Span<const int32_t>(input.resume_generated_ids().data(),
                                      input.resume_generated_ids_size()));
        it = sequences_.emplace(seq, std::move(state)).first;
        created.push_back(seq);
      }
      absl::Status s = SampleStep(it->second, logits_[i], seed_, seq, options_,
                                  response_.add_tokens());
      if (!s.ok()) {
        for (int32_t id : created) sequences_.erase(id);
        return Annotate(s, absl::StrCat("step.inputs[", i, "]"));
      }
    }
    return absl::OkStatus();
  }

  SamplerServiceImpl* service_;
  fm::v1::SamplerSessionRequest request_;
  fm::v1::SamplerSessionResponse response_;
  bool started_ = false;
  ResolvedChain resolved_;
  BoundChains bound_;
  // The chain has a constraint: its steps (mask computations) run on the
  // executor, never in the reaction.
  bool constrained_ = false;
  uint64_t seed_ = 0;
  SampleOptions options_;
  StageSeconds stage_seconds_;  // options_.stage_timer
  int32_t vocab_size_ = 0;
  std::vector<int32_t> prompt_;
  std::map<int32_t, SequenceState> sequences_;
  std::vector<std::vector<float>> logits_;
};

grpc::ServerBidiReactor<fm::v1::SamplerSessionRequest,
                        fm::v1::SamplerSessionResponse>*
SamplerServiceImpl::Session(grpc::CallbackServerContext* ctx) {
  return new SessionReactor(this);
}

grpc::ServerUnaryReactor* SamplerServiceImpl::ListStages(
    grpc::CallbackServerContext* ctx, const fm::v1::ListStagesRequest* request,
    fm::v1::ListStagesResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [response] {
    for (const StageInfo& stage : AllStages()) {
      fm::v1::StageInfo* out = response->add_stages();
      out->set_name(stage.name);
      out->set_kind(std::string(StageKindName(stage.kind)));
      out->set_description(stage.description);
      out->set_draws_random(stage.draws_random);
      out->set_keeps_top_param(stage.keeps_top_param);
      out->set_selects_top(stage.selects_top);
      out->set_keeps_session_state(stage.keeps_session_state);
      out->set_needs_vocabulary(stage.needs_vocabulary);
      out->set_reports_allowed(stage.reports_allowed);
      nlohmann::json example =
          ChainSpecToJson({StageSpec{stage.name, stage.example}})[0];
      example.erase("stage");
      out->set_example_json(example.dump());
      for (const ParamInfo& param : stage.params) {
        fm::v1::StageParam* p = out->add_params();
        p->set_name(param.name);
        p->set_type(std::string(ParamTypeName(param.type)));
        p->set_range(param.RangeText());
        p->set_default_json(ParamDefaultJson(param));
        p->set_description(param.meaning);
        p->set_required(param.required);
      }
    }
    return absl::OkStatus();
  });
}

namespace {

void ProfileToProto(const Profile& profile, fm::v1::Profile* out) {
  out->set_name(profile.name);
  *out->mutable_chain() = SpecToProto(profile.spec);
}

}  // namespace

grpc::ServerUnaryReactor* SamplerServiceImpl::PutProfile(
    grpc::CallbackServerContext* ctx, const fm::v1::PutProfileRequest* request,
    fm::v1::Profile* response) {
  return RunUnaryOnExecutor(ctx, profile_writer_, [this, request, response] {
    auto spec = SpecFromProto(request->profile().chain());
    if (!spec.ok()) return spec.status();
    absl::Status put = profiles_->Put(request->profile().name(), *spec);
    if (!put.ok()) return put;
    auto stored = profiles_->Get(request->profile().name());
    if (!stored.ok()) return stored.status();
    ProfileToProto(**stored, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SamplerServiceImpl::GetProfile(
    grpc::CallbackServerContext* ctx, const fm::v1::GetProfileRequest* request,
    fm::v1::Profile* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    auto profile = profiles_->Get(request->name());
    if (!profile.ok()) return profile.status();
    ProfileToProto(**profile, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SamplerServiceImpl::ListProfiles(
    grpc::CallbackServerContext* ctx,
    const fm::v1::ListProfilesRequest* request,
    fm::v1::ListProfilesResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, response] {
    for (const auto& profile : profiles_->List()) {
      ProfileToProto(*profile, response->add_profiles());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SamplerServiceImpl::DeleteProfile(
    grpc::CallbackServerContext* ctx,
    const fm::v1::DeleteProfileRequest* request,
    fm::v1::DeleteProfileResponse* response) {
  return RunUnaryOnExecutor(ctx, profile_writer_, [this, request] {
    return profiles_->Delete(request->name());
  });
}

grpc::ServerUnaryReactor* SamplerServiceImpl::Info(
    grpc::CallbackServerContext* ctx, const fm::v1::SamplerInfoRequest* request,
    fm::v1::SamplerInfo* response) {
  // Counters only: answered in the reaction, never queued behind sampling.
  // Closed first: a session that opens and closes in between is then
  // counted as open, never as a negative number of open sessions.
  const int64_t closed = sessions_closed_.load(std::memory_order_relaxed);
  const int64_t opened = sessions_opened_.load(std::memory_order_relaxed);
  response->set_sessions_opened(opened);
  response->set_sessions_closed(closed);
  response->set_active_sessions(
      static_cast<int32_t>(std::max<int64_t>(opened - closed, 0)));
  response->set_sample_calls(sample_calls_.load(std::memory_order_relaxed));
  response->set_tokens_sampled(tokens_sampled_.load(std::memory_order_relaxed));
  response->set_profiles(static_cast<int32_t>(profiles_->size()));
  response->set_stages(static_cast<int32_t>(AllStages().size()));
  response->set_profiles_path(profiles_->path());
  response->set_max_inputs(limits_.max_inputs);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* SamplerServiceImpl::CheckConstraint(
    grpc::CallbackServerContext* ctx,
    const fm::v1::CheckConstraintRequest* request,
    fm::v1::ConstraintCheck* response) {
  // Compiling and walking are bounded compute, but not reaction-sized.
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    return DoCheckConstraint(*request, response);
  });
}

absl::Status SamplerServiceImpl::DoCheckConstraint(
    const fm::v1::CheckConstraintRequest& request,
    fm::v1::ConstraintCheck* response) const {
  constexpr int kMaxCheckTokens = 65536;
  if (request.tokens_size() > kMaxCheckTokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens has ", request.tokens_size(), " ids; at most ",
                     kMaxCheckTokens));
  }
  const StageInfo* info = FindStage(request.constraint().stage());
  if (info == nullptr || !info->needs_vocabulary) {
    return absl::InvalidArgumentError(absl::StrCat(
        "constraint.stage '", request.constraint().stage(),
        "' is not a constraint stage (json_schema, regex, choice, json, "
        "grammar)"));
  }
  fm::v1::SamplerChain chain;
  *chain.add_stages() = request.constraint();
  absl::StatusOr<ChainSpec> spec = SpecFromProto(chain);
  if (!spec.ok()) return Annotate(spec.status(), "constraint");
  const auto compile_start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<SamplerStage>> stage =
      BuildStage(spec->front());
  if (!stage.ok()) return Annotate(stage.status(), "constraint");
  const double compile_ms =
      std::chrono::duration<double, std::milli>(
          std::chrono::steady_clock::now() - compile_start)
          .count();
  auto* constraint = dynamic_cast<ConstraintStage*>(stage->get());
  if (constraint == nullptr) {
    return absl::InternalError("a vocabulary stage that is no constraint");
  }
  const SessionVocabulary vocabulary = vocabularies_->Current(absl::Seconds(5));
  FM_RETURN_IF_ERROR(CheckTokenizer(vocabulary, request.tokenizer_sha256()));
  FM_RETURN_IF_ERROR(constraint->BindVocabulary(vocabulary));
  FM_RETURN_IF_ERROR(
      CheckHistory(request.tokens(), vocabulary.tokens->size(), "tokens"));
  ConstraintWalk walk = constraint->Walk(request.tokens());
  std::sort(walk.mask_us.begin(), walk.mask_us.end());
  response->set_accepted(walk.rejected_at < 0 && walk.complete);
  response->set_complete(walk.complete);
  response->set_rejected_at(walk.rejected_at);
  response->set_tokens(request.tokens_size());
  response->set_compile_ms(compile_ms);
  response->mutable_mask_us()->set_p50(Quantile(walk.mask_us, 0.5));
  response->mutable_mask_us()->set_p99(Quantile(walk.mask_us, 0.99));
  response->mutable_mask_us()->set_max(
      walk.mask_us.empty() ? 0 : walk.mask_us.back());
  return absl::OkStatus();
}

}  // namespace fm::sampler
