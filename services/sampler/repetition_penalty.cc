// The `repetition_penalty` filter (CTRL): tokens in the last `last_n` get
// positive logits divided, negative ones multiplied by the penalty.
#include <memory>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"
#include "services/sampler/token_window.h"

namespace fm::sampler {
namespace {

// Positive logits / penalty, the rest * penalty; -inf stays -inf.
struct PenaliseRepeat {
  double penalty;
  void operator()(float& logit, int32_t /*count*/) const {
    if (logit == kNegInf) return;
    logit = ClampToFloat(logit <= 0.0f ? logit * penalty : logit / penalty);
  }
};

class RepetitionPenaltyStage final : public SamplerStage {
 public:
  RepetitionPenaltyStage(double penalty, int64_t last_n)
      : penalty_(penalty), last_n_(last_n), window_(last_n) {}

  absl::string_view Name() const override { return "repetition_penalty"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (penalty_ == 1.0) return;
    ForEachCounted(candidates, window_.counts(), PenaliseRepeat{penalty_});
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (penalty_ != 1.0) {
      ForEachCountedDense(logits, window_.counts(), PenaliseRepeat{penalty_});
    }
    return DenseApply::kStillDense;
  }

  void Accept(TokenId token) override { window_.Push(token); }
  void Reset() override { window_.Clear(); }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<RepetitionPenaltyStage>(*this);
  }

 private:
  double penalty_;
  int64_t last_n_;
  TokenWindow window_;
};

}  // namespace

StageInfo RepetitionPenaltyStageInfo() {
  return {"repetition_penalty",
          "Filter: penalises tokens that occur in the recent history "
          "(positive logits / penalty, negative logits * penalty).",
          StageKind::kFilter,
          {FloatParam("penalty", 0.0, 100.0, 1.0,
                      "1 = off; above 1 discourages repeats, below 1 favours "
                      "them",
                      /*min_exclusive=*/true),
           IntParam("last_n", -1, 1 << 20, 64,
                    "window of recent tokens considered; -1 = the whole "
                    "history, 0 = none")},
          [](const StageParams& p) {
            return std::make_unique<RepetitionPenaltyStage>(p.Float("penalty"),
                                                            p.Int("last_n"));
          }};
}

}  // namespace fm::sampler
