// RunGeneration: validation, tokenization, the response cache, and the
// forward -> sample -> detokenize -> stop loop over n sequences that share
// the prompt's KV cache through fork.
#include "services/gateway/generation.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/file_digest.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/utf8.h"
#include "services/gateway/exchange.h"
#include "services/gateway/model_mirror.h"
#include "services/gateway/prompt.h"
#include "services/gateway/sampling_builder.h"
#include "services/gateway/stop_matcher.h"
#include "common/text/incremental_decoder.h"

namespace fm::gateway {

std::unique_ptr<grpc::ClientContext> DownstreamContext(
    const grpc::CallbackServerContext& server_ctx, absl::Duration fallback) {
  auto ctx = grpc::ClientContext::FromCallbackServerContext(server_ctx);
  // The child's deadline is the earlier of the client's and this one.
  ctx->set_deadline(DeadlineAfter(fallback));
  return ctx;
}

namespace {

using fm::v1::GenerateRequest;
using fm::v1::GenerateResponse;

// One of the n sequences.
struct Sequence {
  Sequence(int32_t index, const text::Detokenizer* vocab,
           std::vector<std::string> stops, bool include_stop)
      : index(index), decoder(vocab), stops(std::move(stops), include_stop) {}
  int32_t index;
  bool live = true;
  int32_t generated = 0;
  absl::Time first_token;
  text::IncrementalDecoder decoder;
  StopMatcher stops;
  fm::v1::Logits logits;  // for the next sampling step
};

// exchange.Call(request), cancelled if it has not answered within `limit`.
// For the first calls on a replacement session: a stream opened while the
// channel still reports the lost connection as READY can stay silent until
// the request's deadline (seen here in about one restart in five); the
// cancellation turns that into a lost session, which is retried.
template <typename Ex, typename Req>
auto CallWithin(Ex& exchange, const Req& request, absl::Duration limit)
    -> decltype(exchange.Call(request)) {
  absl::Notification answered;
  grpc::ClientContext* ctx = exchange.ctx();
  std::thread watchdog([&answered, ctx, limit] {
    if (!answered.WaitForNotificationWithTimeout(limit)) ctx->TryCancel();
  });
  auto response = exchange.Call(request);
  answered.Notify();
  watchdog.join();
  return response;
}

class Generation {
 public:
  Generation(const Backends& backends, ResponseCache* cache,
             const GenerationLimits& limits,
             const grpc::CallbackServerContext& server_ctx,
             const GenerateRequest& request, ResponseSink* sink)
      : backends_(backends),
        cache_(cache),
        limits_(limits),
        server_ctx_(server_ctx),
        request_(request),
        sink_(sink),
        start_(absl::Now()) {}

  absl::Status Run();

 private:
  absl::Status ValidateRequest() const;
  absl::StatusOr<std::vector<int32_t>> Tokenize() const;
  absl::Status ResolveChain();
  std::string CacheKey() const;
  absl::Status Generate();
  // Turns one sampled token into a message; may finish the sequence.
  GenerateResponse HandleToken(Sequence& seq,
                               const fm::v1::SampledToken& sampled);
  void FinishSequence(Sequence& seq, fm::v1::FinishReason reason,
                      GenerateResponse* out);
  bool Emit(GenerateResponse response);
  // Opens a model session (a new one after a loss).
  void OpenModel();
  // One request on the model session; a lost session is rebuilt and the
  // request answered from the rebuilt sequences.
  absl::StatusOr<fm::v1::SessionResponse> CallModel(
      const fm::v1::SessionRequest& request);
  bool SessionLost(const absl::Status& status) const;
  absl::StatusOr<fm::v1::SessionResponse> ResumeModel(
      const fm::v1::SessionRequest& failed);
  // The latest moment a resume may wait until for a dependency.
  absl::Time ResumeDeadline() const;
  // Opens the sampler session with `sampler_start_`.
  absl::StatusOr<fm::v1::SamplerSessionResponse> OpenSampler();
  // One step on the sampler session; a lost session is replaced by a new
  // one that continues every sequence of `step` from its sampled tokens,
  // when the chain's stages keep no state beyond the history.
  absl::StatusOr<fm::v1::SamplerSessionResponse> CallSampler(
      const fm::v1::SamplerSessionRequest& step,
      const std::vector<Sequence*>& seqs);

  const Backends& backends_;
  ResponseCache* cache_;
  const GenerationLimits& limits_;
  const grpc::CallbackServerContext& server_ctx_;
  const GenerateRequest& request_;
  ResponseSink* sink_;
  const absl::Time start_;

  std::shared_ptr<const PipelineFacts> facts_;
  std::shared_ptr<const SamplerRoute> route_;
  std::vector<int32_t> prompt_;
  fm::v1::SamplingSpec spec_;  // always an inline chain after ResolveChain
  int32_t n_ = 1;
  int32_t max_tokens_ = 0;
  uint64_t seed_ = 0;
  bool cacheable_ = false;
  bool want_details_ = false;
  fm::v1::LogitsFormat logits_format_;  // what the model sends each step
  std::vector<GenerateResponse> recorded_;
  std::shared_ptr<const StageCatalog> catalog_;  // null: unknown
  std::unique_ptr<ModelExchange> model_;
  ModelMirror mirror_;  // the model session's sequences, for a rebuild
  int32_t model_resumes_ = 0;
  std::unique_ptr<SamplerExchange> sampler_;
  fm::v1::SamplerSessionRequest sampler_start_;
  fm::v1::SamplerChain sampler_chain_;  // as the first session resolved it
  int32_t sampler_resumes_ = 0;
};

absl::Status Generation::ValidateRequest() const {
  const GenerateRequest& r = request_;
  if (r.n() < 0 || r.n() > limits_.max_n) {
    return absl::InvalidArgumentError(
        absl::StrCat("n = ", r.n(), " is outside [1, ", limits_.max_n, "]"));
  }
  if (r.max_tokens() < 0 || r.max_tokens() > limits_.max_tokens_limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens = ", r.max_tokens(), " is outside [1, ",
                     limits_.max_tokens_limit, "] (--max_tokens_limit)"));
  }
  const int32_t max_tokens =
      r.max_tokens() == 0 ? limits_.default_max_tokens : r.max_tokens();
  if (r.min_tokens() < 0 || r.min_tokens() > max_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_tokens = ", r.min_tokens(), " is outside [0, ",
                     max_tokens, "] (max_tokens)"));
  }
  if (r.stop_size() > limits_.max_stops) {
    return absl::InvalidArgumentError(
        absl::StrCat("stop has ", r.stop_size(), " strings; at most ",
                     limits_.max_stops, " are allowed"));
  }
  for (int i = 0; i < r.stop_size(); ++i) {
    const std::string& stop = r.stop(i);
    if (stop.empty() ||
        static_cast<int32_t>(stop.size()) > limits_.max_stop_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop[", i, "] has ", stop.size(),
                       " bytes; it must have 1 to ", limits_.max_stop_bytes));
    }
    FM_RETURN_IF_ERROR(ValidateUtf8(stop, absl::StrCat("stop[", i, "]")));
  }
  if (r.top_logprobs() < 0 || r.top_logprobs() > limits_.max_top_logprobs) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_logprobs = ", r.top_logprobs(), " is outside [0, ",
                     limits_.max_top_logprobs, "]"));
  }
  if (r.prompt_case() == GenerateRequest::kText) {
    FM_RETURN_IF_ERROR(ValidateUtf8(r.text(), "prompt text"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> Generation::Tokenize() const {
  return PromptIds(
      backends_, *facts_, server_ctx_, limits_.default_timeout,
      request_.prompt_case() == GenerateRequest::kIds ? &request_.ids()
                                                      : nullptr,
      request_.text(), !request_.has_add_bos() || request_.add_bos(),
      request_.parse_special());
}

absl::Status Generation::ResolveChain() {
  FM_ASSIGN_OR_RETURN(spec_, BuildSamplingSpec(request_));
  if (spec_.has_chain()) return absl::OkStatus();
  // A profile: fetch its chain, so that the whole request is pinned (the
  // cache key holds the chain, not a name whose meaning can change).
  fm::v1::GetProfileRequest get;
  get.set_name(spec_.profile());
  fm::v1::Profile profile;
  auto ctx = DownstreamContext(server_ctx_, limits_.default_timeout);
  grpc::Status s = route_->stub->GetProfile(ctx.get(), get, &profile);
  if (!s.ok()) return FromGrpcStatus(s, "sampler");
  *spec_.mutable_chain() = profile.chain();
  return absl::OkStatus();
}

std::string Generation::CacheKey() const {
  GenerateRequest key = request_;
  key.clear_no_cache();
  key.clear_text();
  key.mutable_ids()->mutable_ids()->Assign(prompt_.begin(), prompt_.end());
  key.clear_add_bos();
  *key.mutable_sampling() = spec_;
  key.clear_shorthand();
  key.set_sampler_route(route_->target);
  key.set_max_tokens(max_tokens_);
  key.set_n(n_);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    key.SerializeToCodedStream(&out);
  }
  return Sha256Hex(absl::StrCat(facts_->model.model_sha256(), "|",
                                facts_->tokenizer.model_sha256(), "|", bytes));
}

bool Generation::Emit(GenerateResponse response) {
  response.set_seed(seed_);
  if (cacheable_) recorded_.push_back(response);
  return sink_->Write(std::move(response));
}

void Generation::FinishSequence(Sequence& seq, fm::v1::FinishReason reason,
                                GenerateResponse* out) {
  seq.live = false;
  out->set_finish_reason(reason);
  fm::v1::Usage* usage = out->mutable_usage();
  usage->set_prompt_tokens(static_cast<int32_t>(prompt_.size()));
  usage->set_completion_tokens(seq.generated);
  const absl::Time now = absl::Now();
  usage->set_time_to_first_token_ms(
      absl::ToDoubleMilliseconds(seq.first_token - start_));
  const double decode_s = absl::ToDoubleSeconds(now - seq.first_token);
  usage->set_tokens_per_second(
      seq.generated > 1 && decode_s > 0 ? (seq.generated - 1) / decode_s : 0);
  usage->set_total_ms(absl::ToDoubleMilliseconds(now - start_));
}

GenerateResponse Generation::HandleToken(Sequence& seq,
                                         const fm::v1::SampledToken& sampled) {
  GenerateResponse out;
  out.set_sequence_index(seq.index);
  const int32_t token = sampled.id();
  if (seq.generated++ == 0) seq.first_token = absl::Now();
  if (want_details_) {
    fm::v1::GeneratedToken* detail = out.add_tokens();
    detail->set_id(token);
    detail->set_logprob(sampled.logprob());
    *detail->mutable_top_logprobs() = sampled.top_logprobs();
    *detail->mutable_trace() = sampled.trace();
    *detail->mutable_shadows() = sampled.shadows();
  }
  const bool may_stop = seq.generated - 1 >= request_.min_tokens();
  const auto& stop_ids = request_.stop_token_ids();
  const text::SpecialIds special = facts_->vocab->special_ids();
  const bool end_of_text =
      special.IsEndOfGeneration(token) || token == special.bos;
  fm::v1::FinishReason reason = fm::v1::FINISH_REASON_UNSPECIFIED;
  std::string text;
  if (may_stop &&
      std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
    reason = fm::v1::FINISH_REASON_STOP;
    out.set_stop_token_id(token);
  } else if (may_stop && end_of_text && !request_.ignore_eos()) {
    reason = fm::v1::FINISH_REASON_EOS;
    out.set_stop_token_id(token);
  } else {
    out.add_token_ids(token);
    auto delta = seq.decoder.Add({token});
    StopMatcher::Result r = seq.stops.Feed(delta.ok() ? *delta : "");
    text = std::move(r.emit);
    if (r.stopped) {
      reason = fm::v1::FINISH_REASON_STOP;
      out.set_stop_string(r.stop_string);
    } else if (seq.generated >= max_tokens_) {
      reason = fm::v1::FINISH_REASON_LENGTH;
    }
  }
  if (reason != fm::v1::FINISH_REASON_UNSPECIFIED && !seq.stops.stopped()) {
    // Release what was held back: an unfinished character, then any text
    // that might have begun a stop string.
    auto rest = seq.decoder.Flush();
    StopMatcher::Result r = seq.stops.Feed(rest.ok() ? *rest : "");
    text += r.emit;
    if (r.stopped) {
      reason = fm::v1::FINISH_REASON_STOP;
      out.set_stop_string(r.stop_string);
    }
    text += seq.stops.Flush();
  }
  out.set_text(std::move(text));
  if (reason != fm::v1::FINISH_REASON_UNSPECIFIED) {
    FinishSequence(seq, reason, &out);
  }
  return out;
}

void Generation::OpenModel() {
  model_ = std::make_unique<ModelExchange>(
      DownstreamContext(server_ctx_, limits_.default_timeout), "model");
  model_->Open(backends_.model()->Session(model_->ctx()));
}

// The stream to the model broke (UNAVAILABLE), or the model ended it
// without the client having cancelled (a model shutting down cancels its
// sessions). Deadlines, cancellation by the client and in-band errors
// (bad input, context overflow) are not losses.
bool Generation::SessionLost(const absl::Status& status) const {
  if (server_ctx_.IsCancelled()) return false;
  return absl::IsUnavailable(status) || absl::IsCancelled(status);
}

absl::StatusOr<fm::v1::SessionResponse> Generation::CallModel(
    const fm::v1::SessionRequest& request) {
  mirror_.Apply(request);
  absl::StatusOr<fm::v1::SessionResponse> response = model_->Call(request);
  while (!response.ok() && SessionLost(response.status()) &&
         model_resumes_ < limits_.max_resumes) {
    ++model_resumes_;
    FM_LOG(WARNING) << "model session lost (" << response.status()
                    << "); rebuilding it, attempt " << model_resumes_ << " of "
                    << limits_.max_resumes;
    if (!backends_.WaitForModel(ResumeDeadline())) {
      return absl::UnavailableError(absl::StrCat(
          "model: the session was lost and no model replica accepted a "
          "connection within ",
          absl::FormatDuration(limits_.resume_timeout),
          " (--resume_timeout): ", response.status().message()));
    }
    response = ResumeModel(request);
  }
  return response;
}

absl::StatusOr<fm::v1::SessionResponse> Generation::ResumeModel(
    const fm::v1::SessionRequest& failed) {
  OpenModel();
  FM_ASSIGN_OR_RETURN(ModelMirror::Rebuild rebuild,
                      mirror_.MakeRebuild(logits_format_));
  FM_ASSIGN_OR_RETURN(
      fm::v1::SessionResponse rebuilt,
      CallWithin(*model_, rebuild.request, limits_.resume_timeout));
  // The same model (the replica that computed the rebuild says which), or
  // the continuation would silently change meaning.
  if (rebuilt.model_sha256() != facts_->model.model_sha256()) {
    return absl::AbortedError(absl::StrCat(
        "model: the session was lost and the replica that took it over "
        "serves another model (sha256 ",
        rebuilt.model_sha256().substr(0, 12), ", was ",
        facts_->model.model_sha256().substr(0, 12), "); retry the request"));
  }
  return ModelMirror::AnswerFromRebuild(failed, rebuild, rebuilt);
}

absl::Time Generation::ResumeDeadline() const {
  absl::Time until = absl::Now() + limits_.resume_timeout;
  if (server_ctx_.deadline() != std::chrono::system_clock::time_point::max()) {
    until = std::min(until, absl::FromChrono(server_ctx_.deadline()));
  }
  return until;
}

absl::StatusOr<fm::v1::SamplerSessionResponse> Generation::OpenSampler() {
  sampler_ = std::make_unique<SamplerExchange>(
      DownstreamContext(server_ctx_, limits_.default_timeout), "sampler");
  sampler_->Open(route_->stub->Session(sampler_->ctx()));
  if (sampler_resumes_ > 0) {
    return CallWithin(*sampler_, sampler_start_, limits_.resume_timeout);
  }
  return sampler_->Call(sampler_start_);
}

absl::StatusOr<fm::v1::SamplerSessionResponse> Generation::CallSampler(
    const fm::v1::SamplerSessionRequest& step,
    const std::vector<Sequence*>& seqs) {
  absl::StatusOr<fm::v1::SamplerSessionResponse> response =
      sampler_->Call(step);
  // Shadow profiles' chains are not in the catalog check: they may keep
  // state a new session would not have, so requests with them end instead.
  const bool resumable = catalog_ != nullptr &&
                         catalog_->ChainCanResume(spec_.chain()) &&
                         request_.shadow_profiles_size() == 0;
  while (!response.ok() && SessionLost(response.status()) &&
         sampler_resumes_ < limits_.max_resumes && resumable) {
    ++sampler_resumes_;
    FM_LOG(WARNING) << "sampler session lost (" << response.status()
                    << "); continuing in a new one, attempt "
                    << sampler_resumes_ << " of " << limits_.max_resumes;
    if (!WaitForReconnect(*route_->channel, ResumeDeadline())) {
      return absl::UnavailableError(absl::StrCat(
          "sampler: the session was lost and no replica of route '",
          route_->name, "' accepted a connection within ",
          absl::FormatDuration(limits_.resume_timeout),
          " (--resume_timeout): ", response.status().message()));
    }
    // The same seed: draws are keyed by (seed, sequence, step).
    sampler_start_.mutable_start()->set_seed(seed_);
    absl::StatusOr<fm::v1::SamplerSessionResponse> started = OpenSampler();
    if (!started.ok()) {
      response = started.status();
      continue;
    }
    // The same chain as resolved by the first session, or the continuation
    // would silently change meaning (a profile or sampler version changed).
    if (!google::protobuf::util::MessageDifferencer::Equals(started->chain(),
                                                            sampler_chain_)) {
      return absl::AbortedError(
          "sampler: the session was lost and the new one resolves the chain "
          "differently; retry the request");
    }
    // Each sequence's tokens so far are in the model mirror after the
    // prompt (every sampled token of a live sequence was appended; a
    // sequence about to be forked on its first step has none yet).
    fm::v1::SamplerSessionRequest resumed = step;
    for (size_t k = 0; k < seqs.size(); ++k) {
      const auto tokens = mirror_.sequences().find(seqs[k]->index);
      if (tokens == mirror_.sequences().end() ||
          tokens->second.size() < prompt_.size()) {
        continue;
      }
      resumed.mutable_step()
          ->mutable_inputs(static_cast<int>(k))
          ->mutable_resume_generated_ids()
          ->Assign(tokens->second.begin() + prompt_.size(),
                   tokens->second.end());
    }
    response = CallWithin(*sampler_, resumed, limits_.resume_timeout);
  }
  return response;
}

absl::Status Generation::Generate() {
  OpenModel();
  // The sampler session: chain, seed, what to report, the prompt as
  // history for penalties.
  fm::v1::SamplerSessionStart* s = sampler_start_.mutable_start();
  *s->mutable_sampling() = spec_;
  if (request_.has_seed()) s->set_seed(request_.seed());
  s->mutable_options()->set_top_logprobs(request_.top_logprobs());
  s->mutable_options()->set_logprobs_mode(request_.logprobs_mode());
  s->mutable_options()->set_trace(request_.trace());
  *s->mutable_options()->mutable_shadow_profiles() = request_.shadow_profiles();
  s->set_vocab_size(facts_->vocab->vocab_size());
  s->mutable_prompt_ids()->Assign(prompt_.begin(), prompt_.end());
  FM_ASSIGN_OR_RETURN(fm::v1::SamplerSessionResponse started, OpenSampler());
  seed_ = started.seed();
  sampler_chain_ = started.chain();

  // Prefill the prompt once, in sequence 0.
  fm::v1::SessionRequest prefill;
  fm::v1::AppendOp* append = prefill.add_ops()->mutable_append();
  append->set_sequence_id(0);
  append->mutable_token_ids()->Assign(prompt_.begin(), prompt_.end());
  *prefill.mutable_logits_format() = logits_format_;
  FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse prefilled, CallModel(prefill));
  if (prefilled.results_size() != 1 ||
      prefilled.results(0).logits_size() != 1) {
    return absl::InternalError("model: malformed prefill response");
  }

  std::vector<std::unique_ptr<Sequence>> seqs;
  std::vector<std::string> stops(request_.stop().begin(),
                                 request_.stop().end());
  for (int32_t i = 0; i < n_; ++i) {
    seqs.push_back(std::make_unique<Sequence>(i, facts_->vocab.get(), stops,
                                              request_.include_stop_str()));
    FM_RETURN_IF_ERROR(seqs.back()->decoder.Prime(prompt_));
    seqs.back()->logits = prefilled.results(0).logits(0);
  }

  for (int32_t step = 0;; ++step) {
    if (server_ctx_.IsCancelled()) {
      return absl::CancelledError("the client cancelled the generation");
    }
    fm::v1::SamplerSessionRequest sample;
    std::vector<Sequence*> sampled_seqs;
    for (auto& seq : seqs) {
      if (!seq->live) continue;
      fm::v1::SessionStepInput* in = sample.mutable_step()->add_inputs();
      in->set_sequence_index(seq->index);
      *in->mutable_logits() = std::move(seq->logits);
      sampled_seqs.push_back(seq.get());
    }
    FM_ASSIGN_OR_RETURN(fm::v1::SamplerSessionResponse picked,
                        CallSampler(sample, sampled_seqs));
    if (picked.tokens_size() != static_cast<int>(sampled_seqs.size())) {
      return absl::InternalError(
          absl::StrCat("sampler: answered ", picked.tokens_size(),
                       " tokens for ", sampled_seqs.size(), " sequences"));
    }
    fm::v1::SessionRequest next;
    std::vector<fm::v1::SequenceOp> appends, drops;
    for (size_t k = 0; k < sampled_seqs.size(); ++k) {
      Sequence& seq = *sampled_seqs[k];
      const int32_t token = picked.tokens(static_cast<int>(k)).id();
      if (!Emit(HandleToken(seq, picked.tokens(static_cast<int>(k))))) {
        return absl::CancelledError("the client went away");
      }
      const bool exists = step > 0 || seq.index == 0;
      if (seq.live) {
        if (!exists) {  // first step: share the prompt's KV cache
          fm::v1::ForkOp* fork = next.add_ops()->mutable_fork();
          fork->set_source_sequence_id(0);
          fork->set_new_sequence_id(seq.index);
        }
        fm::v1::SequenceOp op;
        op.mutable_append()->set_sequence_id(seq.index);
        op.mutable_append()->add_token_ids(token);
        appends.push_back(std::move(op));
      } else if (exists) {
        fm::v1::SequenceOp op;
        op.mutable_drop()->set_sequence_id(seq.index);
        drops.push_back(std::move(op));
      }
    }
    if (appends.empty()) break;  // every sequence has finished
    for (auto& op : appends) *next.add_ops() = std::move(op);
    for (auto& op : drops) *next.add_ops() = std::move(op);
    *next.mutable_logits_format() = logits_format_;
    FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse forwarded, CallModel(next));
    int r = 0;
    for (Sequence* seq : sampled_seqs) {
      if (!seq->live) continue;
      if (r >= forwarded.results_size() ||
          forwarded.results(r).logits_size() != 1) {
        return absl::InternalError("model: fewer results than appends");
      }
      seq->logits =
          std::move(*forwarded.mutable_results(r++)->mutable_logits(0));
    }
  }
  model_->Close();
  sampler_->Close();
  return absl::OkStatus();
}

absl::Status Generation::Run() {
  FM_RETURN_IF_ERROR(ValidateRequest());
  FM_ASSIGN_OR_RETURN(facts_, backends_.Facts());
  FM_ASSIGN_OR_RETURN(route_,
                      backends_.routes()->Find(request_.sampler_route()));
  n_ = request_.n() == 0 ? 1 : request_.n();
  max_tokens_ = request_.max_tokens() == 0 ? limits_.default_max_tokens
                                           : request_.max_tokens();
  FM_ASSIGN_OR_RETURN(prompt_, Tokenize());
  const int32_t n_prompt = static_cast<int32_t>(prompt_.size());
  if (n_prompt > limits_.max_prompt_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("the prompt has ", n_prompt, " tokens; the limit is ",
                     limits_.max_prompt_tokens, " (--max_prompt_tokens)"));
  }
  const int32_t context = facts_->model.context_length();
  if (static_cast<int64_t>(n_prompt) + max_tokens_ > context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt tokens (", n_prompt, ") + max_tokens (", max_tokens_,
        ") = ", static_cast<int64_t>(n_prompt) + max_tokens_,
        " exceeds the model's context length ", context));
  }
  FM_RETURN_IF_ERROR(ResolveChain());
  want_details_ = request_.logprobs() || request_.top_logprobs() > 0 ||
                  request_.trace() || request_.shadow_profiles_size() > 0;
  const bool raw_logprobs =
      (request_.logprobs() || request_.top_logprobs() > 0) &&
      request_.logprobs_mode() != fm::v1::LOGPROBS_MODE_PROCESSED;
  // The sampler's own declarations of its stages (random or not, which
  // logits they need); without them, the safe choice: dense logits, and no
  // caching unless the request has a seed.
  auto catalog_ctx = DownstreamContext(server_ctx_, absl::Seconds(5));
  catalog_ = route_->Catalog(spec_.chain(), catalog_ctx.get());
  const bool needs_full_distribution =
      raw_logprobs || request_.trace() || request_.shadow_profiles_size() > 0;
  const int32_t head =
      catalog_ == nullptr
          ? 0
          : catalog_->SufficientTopK(spec_.chain(), needs_full_distribution);
  logits_format_.set_top_k(std::min(head, facts_->model.vocab_size()));

  const bool deterministic =
      request_.has_seed() ||
      (catalog_ != nullptr && catalog_->ChainIsDeterministic(spec_.chain()));
  std::string key;
  if (deterministic && cache_ != nullptr) {
    key = CacheKey();
    if (!request_.no_cache()) {
      if (auto hit = cache_->Get(key)) {
        for (GenerateResponse response : *hit) {
          response.set_cache_hit(true);
          if (!sink_->Write(std::move(response))) {
            return absl::CancelledError("the client went away");
          }
        }
        return absl::OkStatus();
      }
    }
    cacheable_ = true;
  }
  FM_RETURN_IF_ERROR(Generate());
  // A resumed generation's logits came partly from a re-prefill, whose
  // rounding can differ from decoding: do not replay it to others.
  if (cacheable_ && model_resumes_ == 0 && sampler_resumes_ == 0) {
    cache_->Put(key, std::move(recorded_));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunGeneration(const Backends& backends, ResponseCache* cache,
                           const GenerationLimits& limits,
                           const grpc::CallbackServerContext& server_ctx,
                           const fm::v1::GenerateRequest& request,
                           ResponseSink* sink) {
  Generation generation(backends, cache, limits, server_ctx, request, sink);
  absl::Status status = generation.Run();
  if (!status.ok() && server_ctx.IsCancelled()) {
    return absl::CancelledError("the client cancelled the generation");
  }
  return status;
}

}  // namespace fm::gateway
