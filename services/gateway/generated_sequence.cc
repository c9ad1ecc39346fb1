// GeneratedSequence: end conditions in the order the API documents them —
// stop ids, then end of generation, then stop strings, then max_tokens.
#include "services/gateway/generated_sequence.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/time/clock.h"

namespace fm::gateway {

GeneratedSequence::GeneratedSequence(int32_t index, const GenerationPlan& plan,
                                     absl::Time start)
    : index_(index),
      plan_(plan),
      start_(start),
      decoder_(plan.facts->vocab.get()),
      stops_(plan.stops.stop_strings, plan.stops.include_stop_string) {}

absl::Status GeneratedSequence::Prime() { return decoder_.Prime(plan_.prompt); }

fm::v1::GenerateResponse GeneratedSequence::Accept(
    const fm::v1::SampledToken& sampled) {
  fm::v1::GenerateResponse out;
  out.set_sequence_index(index_);
  const TokenId token = sampled.id();
  if (generated_.empty()) first_token_ = absl::Now();
  generated_.push_back(token);
  if (plan_.token_details) {
    fm::v1::GeneratedToken* detail = out.add_tokens();
    detail->set_id(token);
    detail->set_logprob(sampled.logprob());
    *detail->mutable_top_logprobs() = sampled.top_logprobs();
    *detail->mutable_trace() = sampled.trace();
    *detail->mutable_shadows() = sampled.shadows();
  }
  std::string text;
  fm::v1::FinishReason reason = Continue(token, &text, &out);
  if (reason != fm::v1::FINISH_REASON_UNSPECIFIED && !stops_.stopped()) {
    // Release what was held back: an unfinished character, then any text
    // that might have begun a stop string.
    auto rest = decoder_.Flush();
    StopMatcher::Result r = stops_.Feed(rest.ok() ? *rest : "");
    text += r.emit;
    if (r.stopped) {
      reason = fm::v1::FINISH_REASON_STOP;
      out.set_stop_string(r.stop_string);
    }
    text += stops_.Flush();
  }
  out.set_text(std::move(text));
  if (reason != fm::v1::FINISH_REASON_UNSPECIFIED) Finish(reason, &out);
  return out;
}

fm::v1::FinishReason GeneratedSequence::Continue(
    TokenId token, std::string* text, fm::v1::GenerateResponse* out) {
  const StopRules& rules = plan_.stops;
  const int32_t count = static_cast<int32_t>(generated_.size());
  const bool may_stop = count - 1 >= rules.min_tokens;
  const text::SpecialIds special = plan_.facts->vocab->special_ids();
  const bool end_of_text =
      special.IsEndOfGeneration(token) || token == special.bos;
  if (may_stop &&
      std::find(rules.stop_token_ids.begin(), rules.stop_token_ids.end(),
                token) != rules.stop_token_ids.end()) {
    out->set_stop_token_id(token);
    return fm::v1::FINISH_REASON_STOP;
  }
  if (may_stop && end_of_text && !rules.ignore_eos) {
    out->set_stop_token_id(token);
    return fm::v1::FINISH_REASON_EOS;
  }
  out->add_token_ids(token);
  auto delta = decoder_.Add({token});
  StopMatcher::Result r = stops_.Feed(delta.ok() ? *delta : "");
  *text = std::move(r.emit);
  if (r.stopped) {
    out->set_stop_string(r.stop_string);
    return fm::v1::FINISH_REASON_STOP;
  }
  if (count >= rules.max_tokens) return fm::v1::FINISH_REASON_LENGTH;
  return fm::v1::FINISH_REASON_UNSPECIFIED;
}

void GeneratedSequence::Finish(fm::v1::FinishReason reason,
                               fm::v1::GenerateResponse* out) {
  live_ = false;
  out->set_finish_reason(reason);
  fm::v1::Usage* usage = out->mutable_usage();
  const int32_t count = static_cast<int32_t>(generated_.size());
  usage->set_prompt_tokens(static_cast<int32_t>(plan_.prompt.size()));
  usage->set_completion_tokens(count);
  const absl::Time now = absl::Now();
  usage->set_time_to_first_token_ms(
      absl::ToDoubleMilliseconds(first_token_ - start_));
  const double decode_s = absl::ToDoubleSeconds(now - first_token_);
  usage->set_tokens_per_second(
      count > 1 && decode_s > 0 ? (count - 1) / decode_s : 0);
  usage->set_total_ms(absl::ToDoubleMilliseconds(now - start_));
}

}  // namespace fm::gateway
