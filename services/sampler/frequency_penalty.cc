// The `frequency_penalty` filter (OpenAI semantics): subtracts penalty times
// the number of occurrences in the recent history from each token's logit.
#include <memory>

#include "services/sampler/stage_registry.h"
#include "services/sampler/token_window.h"

namespace fm::sampler {
namespace {

struct PenaliseFrequency {
  float penalty;
  void operator()(float& logit, int32_t count) const {
    logit -= penalty * static_cast<float>(count);
  }
};

class FrequencyPenaltyStage final : public SamplerStage {
 public:
  FrequencyPenaltyStage(double penalty, int64_t last_n)
      : penalty_(static_cast<float>(penalty)), window_(last_n) {}

  absl::string_view Name() const override { return "frequency_penalty"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (penalty_ != 0.0f)
      ForEachCounted(candidates, window_.counts(), PenaliseFrequency{penalty_});
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (penalty_ != 0.0f) {
      ForEachCountedDense(logits, window_.counts(),
                          PenaliseFrequency{penalty_});
    }
    return DenseApply::kStillDense;
  }

  void Accept(TokenId token) override { window_.Push(token); }
  void Reset() override { window_.Clear(); }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<FrequencyPenaltyStage>(*this);
  }

 private:
  float penalty_;
  TokenWindow window_;
};

}  // namespace

StageInfo FrequencyPenaltyStageInfo() {
  return {"frequency_penalty",
          "Filter: logit -= penalty * (times the token occurred).",
          StageKind::kFilter,
          {FloatParam("penalty", -2.0, 2.0, 0.0,
                      "0 = off; positive discourages frequent tokens"),
           IntParam("last_n", -1, 1 << 20, -1,
                    "window of recent tokens considered; -1 = the whole "
                    "history")},
          [](const StageParams& p) {
            return std::make_unique<FrequencyPenaltyStage>(p.Float("penalty"),
                                                           p.Int("last_n"));
          }};
}

}  // namespace fm::sampler
