// GeneratedSequence: one sequence of a generation as the client sees it —
// the tokens sampled for it, their text streamed as whole characters with
// stop strings cut exactly, and when and why it ended.
#ifndef FM_SERVICES_GATEWAY_GENERATED_SEQUENCE_H_
#define FM_SERVICES_GATEWAY_GENERATED_SEQUENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/text/incremental_decoder.h"
#include "common/token_id.h"
#include "fm/v1/gateway.pb.h"
#include "fm/v1/sampler.pb.h"
#include "services/gateway/generation_plan.h"
#include "services/gateway/stop_matcher.h"

namespace fm::gateway {

class GeneratedSequence {
 public:
  // `plan` must outlive the sequence; `start` is when the request arrived
  // (time to first token counts from it).
  GeneratedSequence(int32_t index, const GenerationPlan& plan,
                    absl::Time start);

  // Decodes the prompt as context, so the first token's text continues it.
  absl::Status Prime();

  // Takes the token sampled for this sequence and returns the message that
  // streams it: its text (whatever is now final), its details when the
  // plan asks for them, and — when it ends the sequence (a stop id, end of
  // generation, a stop string, max_tokens) — the finish reason and usage.
  fm::v1::GenerateResponse Accept(const fm::v1::SampledToken& sampled);

  int32_t index() const { return index_; }
  bool live() const { return live_; }
  // Every token sampled for it so far (the one that ended it included).
  absl::Span<const TokenId> generated() const { return generated_; }

  // The logits of its next step (the model's last answer for it).
  fm::v1::Logits& logits() { return logits_; }
  // The ids its next token may be, as the sampler reported them with the
  // last token (SampledToken.next_allowed_ids); empty when it did not.
  std::string& next_allowed_ids() { return next_allowed_ids_; }

 private:
  // The reason `token` ends the sequence, or UNSPECIFIED; appends the
  // token's text to `text` and sets `out`'s stop fields.
  fm::v1::FinishReason Continue(TokenId token, std::string* text,
                                fm::v1::GenerateResponse* out);
  void Finish(fm::v1::FinishReason reason, fm::v1::GenerateResponse* out);

  const int32_t index_;
  const GenerationPlan& plan_;
  const absl::Time start_;
  bool live_ = true;
  std::vector<TokenId> generated_;
  absl::Time first_token_;
  text::IncrementalDecoder decoder_;
  StopMatcher stops_;
  fm::v1::Logits logits_;
  std::string next_allowed_ids_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GENERATED_SEQUENCE_H_
