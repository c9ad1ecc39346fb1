// BeamSearch: prefill, then expand -> choose -> fork/append/drop until the
// beams are done; then the best finished beams stream.
#include "services/gateway/beam_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "services/gateway/generated_sequence.h"

namespace fm::gateway {

BeamSearch::BeamSearch(const GenerationPlan& plan, ModelSession* model,
                       SamplerSession* sampler,
                       const grpc::CallbackServerContext& server_ctx,
                       absl::Time start, ResponseSink* sink)
    : plan_(plan),
      model_(model),
      sampler_(sampler),
      server_ctx_(server_ctx),
      start_(start),
      sink_(sink),
      width_(plan.beam.width) {}

double BeamSearch::Score(double sum, size_t length) const {
  return sum / std::pow(static_cast<double>(std::max<size_t>(length, 1)),
                        plan_.beam.length_penalty);
}

absl::Status BeamSearch::Prefill() {
  Hypothesis root;
  root.model_sequence = 0;
  FM_ASSIGN_OR_RETURN(root.logits, model_->Prefill(plan_.prompt));
  live_.push_back(std::move(root));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BeamSearch::Expansion>> BeamSearch::Expand(
    int32_t step) {
  // Every beam is a new sampler sequence continued from its history (its
  // parent's state would have advanced by the sampler's own pick); the
  // sequences of the step before are dropped, and the two banks of
  // indices alternate so that a new index is never one still held.
  fm::v1::SamplerSessionRequest request;
  fm::v1::SamplerSessionStep* s = request.mutable_step();
  for (int32_t seq : sampler_sequences_) s->add_drop_sequences(seq);
  sampler_sequences_.clear();
  std::vector<absl::Span<const TokenId>> generated;
  const int32_t bank = (step % 2) * width_;
  for (size_t k = 0; k < live_.size(); ++k) {
    fm::v1::SessionStepInput* in = s->add_inputs();
    const int32_t index = bank + static_cast<int32_t>(k);
    in->set_sequence_index(index);
    *in->mutable_logits() = std::move(live_[k].logits);
    in->mutable_resume_generated_ids()->Assign(live_[k].tokens.begin(),
                                               live_[k].tokens.end());
    sampler_sequences_.push_back(index);
    generated.push_back(live_[k].tokens);
  }
  FM_ASSIGN_OR_RETURN(fm::v1::SamplerSessionResponse scored,
                      sampler_->Step(request, generated));
  if (scored.tokens_size() != static_cast<int>(live_.size())) {
    return absl::InternalError(
        absl::StrCat("sampler: answered ", scored.tokens_size(), " tokens for ",
                     live_.size(), " beams"));
  }
  std::vector<Expansion> out;
  for (int32_t k = 0; k < static_cast<int32_t>(live_.size()); ++k) {
    for (const fm::v1::TokenLogprob& t : scored.tokens(k).top_logprobs()) {
      if (!std::isfinite(t.logprob())) continue;  // refused by the chain
      out.push_back({k, t.id(), t.logprob(), live_[k].sum + t.logprob()});
    }
  }
  std::stable_sort(
      out.begin(), out.end(),
      [](const Expansion& a, const Expansion& b) { return a.total > b.total; });
  return out;
}

absl::Status BeamSearch::Forward(std::vector<Hypothesis> next, int32_t step) {
  // The model's sequence ids also come in two banks: the new beams are
  // forked into the bank the old ones are not in.
  const int32_t bank = ((step + 1) % 2) * width_;
  fm::v1::SessionRequest request;
  for (size_t j = 0; j < next.size(); ++j) {
    fm::v1::ForkOp* fork = request.add_ops()->mutable_fork();
    fork->set_source_sequence_id(next[j].model_sequence);
    fork->set_new_sequence_id(bank + static_cast<int32_t>(j));
  }
  for (size_t j = 0; j < next.size(); ++j) {
    fm::v1::AppendOp* append = request.add_ops()->mutable_append();
    append->set_sequence_id(bank + static_cast<int32_t>(j));
    append->add_token_ids(next[j].tokens.back());
  }
  for (const Hypothesis& old : live_) {
    request.add_ops()->mutable_drop()->set_sequence_id(old.model_sequence);
  }
  FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse forwarded,
                      model_->Call(std::move(request)));
  if (forwarded.results_size() != static_cast<int>(next.size())) {
    return absl::InternalError("model: fewer results than appends");
  }
  for (size_t j = 0; j < next.size(); ++j) {
    auto* result = forwarded.mutable_results(static_cast<int>(j));
    if (result->logits_size() != 1) {
      return absl::InternalError("model: a result without logits");
    }
    next[j].model_sequence = bank + static_cast<int32_t>(j);
    next[j].logits = std::move(*result->mutable_logits(0));
  }
  live_ = std::move(next);
  return absl::OkStatus();
}

bool BeamSearch::Done() const {
  if (static_cast<int32_t>(finished_.size()) < width_) return false;
  if (plan_.beam.early_stopping) return true;
  // No live beam scores above the width-th finished one now (the usual
  // heuristic: a longer beam is assumed to score no better).
  std::vector<double> scores;
  for (const Finished& f : finished_) scores.push_back(f.score);
  std::nth_element(scores.begin(), scores.begin() + (width_ - 1), scores.end(),
                   std::greater<double>());
  const double worst_kept = scores[width_ - 1];
  for (const Hypothesis& h : live_) {
    if (Score(h.sum, h.tokens.size()) > worst_kept) return false;
  }
  return true;
}

absl::Status BeamSearch::Run() {
  FM_RETURN_IF_ERROR(Prefill());
  const StopRules& rules = plan_.stops;
  const text::SpecialIds special = plan_.facts->vocab->special_ids();
  auto ends = [&](TokenId t) {
    if (std::find(rules.stop_token_ids.begin(), rules.stop_token_ids.end(),
                  t) != rules.stop_token_ids.end()) {
      return fm::v1::FINISH_REASON_STOP;
    }
    if (!rules.ignore_eos &&
        (special.IsEndOfGeneration(t) || t == special.bos)) {
      return fm::v1::FINISH_REASON_EOS;
    }
    return fm::v1::FINISH_REASON_UNSPECIFIED;
  };
  for (int32_t step = 0;; ++step) {
    if (server_ctx_.IsCancelled()) {
      return absl::CancelledError("the client cancelled the generation");
    }
    FM_ASSIGN_OR_RETURN(std::vector<Expansion> expansions, Expand(step));
    const size_t length = live_.front().tokens.size() + 1;
    const bool may_stop = static_cast<int32_t>(length) - 1 >= rules.min_tokens;
    std::vector<Hypothesis> next;
    for (size_t rank = 0;
         rank < expansions.size() && static_cast<int32_t>(next.size()) < width_;
         ++rank) {
      const Expansion& e = expansions[rank];
      Hypothesis h;
      h.tokens = live_[e.beam].tokens;
      h.logprobs = live_[e.beam].logprobs;
      h.tokens.push_back(e.token);
      h.logprobs.push_back(e.logprob);
      h.sum = e.total;
      h.model_sequence = live_[e.beam].model_sequence;
      const fm::v1::FinishReason reason = ends(e.token);
      if (reason != fm::v1::FINISH_REASON_UNSPECIFIED) {
        // An ending among the width best finishes a beam; below them it
        // would not have been kept.
        if (may_stop && static_cast<int32_t>(rank) < width_) {
          finished_.push_back({std::move(h), Score(e.total, length), reason});
        }
        continue;
      }
      next.push_back(std::move(h));
    }
    if (next.empty()) break;
    if (static_cast<int32_t>(length) >= rules.max_tokens) {
      for (Hypothesis& h : next) {
        const double score = Score(h.sum, h.tokens.size());
        finished_.push_back(
            {std::move(h), score, fm::v1::FINISH_REASON_LENGTH});
      }
      live_.clear();
      break;
    }
    FM_RETURN_IF_ERROR(Forward(std::move(next), step));
    if (Done()) break;
  }
  return Emit();
}

absl::Status BeamSearch::Emit() {
  if (finished_.empty()) {
    for (Hypothesis& h : live_) {
      const double score = Score(h.sum, h.tokens.size());
      finished_.push_back({std::move(h), score, fm::v1::FINISH_REASON_LENGTH});
    }
  }
  std::vector<int32_t> order(finished_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return finished_[a].score > finished_[b].score;
  });
  const int32_t returned =
      std::min<int32_t>(plan_.n, static_cast<int32_t>(order.size()));
  fm::v1::GenerateResponse summary;
  std::vector<fm::v1::Candidate> candidates(finished_.size());
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const Finished& f = finished_[order[rank]];
    const bool chosen = static_cast<int32_t>(rank) < returned;
    // The text as the client receives it, stop rules and all.
    GeneratedSequence seq(chosen ? static_cast<int32_t>(rank) : 0, plan_,
                          start_);
    FM_RETURN_IF_ERROR(seq.Prime());
    fm::v1::Candidate& c = candidates[order[rank]];
    c.set_index(order[rank]);
    std::vector<fm::v1::GenerateResponse> messages;
    for (size_t i = 0; i < f.beam.tokens.size() && seq.live(); ++i) {
      fm::v1::SampledToken token;
      token.set_id(f.beam.tokens[i]);
      token.set_logprob(f.beam.logprobs[i]);
      messages.push_back(seq.Accept(token));
      c.mutable_text()->append(messages.back().text());
      c.add_token_ids(f.beam.tokens[i]);
      c.add_token_logprobs(f.beam.logprobs[i]);
      if (messages.back().finish_reason() !=
          fm::v1::FINISH_REASON_UNSPECIFIED) {
        c.set_finish_reason(messages.back().finish_reason());
      }
    }
    c.set_score(f.score);
    c.set_sequence_index(chosen ? static_cast<int32_t>(rank) : -1);
    c.set_reason(absl::StrFormat(
        "%s beam rank %d of %d finished by sum logprob / length^%g "
        "(score %.6g)",
        chosen ? "selected:" : "not selected:", static_cast<int>(rank + 1),
        static_cast<int>(order.size()), plan_.beam.length_penalty, f.score));
    if (!chosen) continue;
    for (fm::v1::GenerateResponse& m : messages) {
      if (!sink_->Write(std::move(m))) {
        return absl::CancelledError("the client went away");
      }
    }
  }
  summary.set_sequence_index(0);
  for (fm::v1::Candidate& c : candidates)
    *summary.add_candidates() = std::move(c);
  if (!sink_->Write(std::move(summary))) {
    return absl::CancelledError("the client went away");
  }
  return absl::OkStatus();
}

}  // namespace fm::gateway
