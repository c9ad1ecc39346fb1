// The `presence_penalty` filter (OpenAI semantics): subtracts the penalty
// once from the logit of every token present in the recent history.
#include <memory>

#include "services/sampler/stage_registry.h"
#include "services/sampler/token_window.h"

namespace fm::sampler {
namespace {

struct PenalisePresence {
  float penalty;
  void operator()(float& logit, int32_t /*count*/) const { logit -= penalty; }
};

class PresencePenaltyStage final : public SamplerStage {
 public:
  PresencePenaltyStage(double penalty, int64_t last_n)
      : penalty_(static_cast<float>(penalty)), window_(last_n) {}

  absl::string_view Name() const override { return "presence_penalty"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (penalty_ != 0.0f)
      ForEachCounted(candidates, window_.counts(), PenalisePresence{penalty_});
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (penalty_ != 0.0f) {
      ForEachCountedDense(logits, window_.counts(), PenalisePresence{penalty_});
    }
    return DenseApply::kStillDense;
  }

  void Accept(TokenId token) override { window_.Push(token); }
  void Reset() override { window_.Clear(); }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<PresencePenaltyStage>(*this);
  }

 private:
  float penalty_;
  TokenWindow window_;
};

}  // namespace

StageInfo PresencePenaltyStageInfo() {
  return {"presence_penalty",
          "Filter: logit -= penalty for every token that already occurred "
          "(once, whatever the count).",
          StageKind::kFilter,
          {FloatParam("penalty", -2.0, 2.0, 0.0,
                      "0 = off; positive discourages any repeat"),
           IntParam("last_n", -1, 1 << 20, -1,
                    "window of recent tokens considered; -1 = the whole "
                    "history")},
          [](const StageParams& p) {
            return std::make_unique<PresencePenaltyStage>(p.Float("penalty"),
                                                          p.Int("last_n"));
          }};
}

}  // namespace fm::sampler
