// The `greedy` selector: picks the highest-logit candidate (ties go to the
// lowest token id); nothing is chosen when every candidate is banned (-inf).
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class GreedyStage final : public SamplerStage {
 public:
  absl::string_view Name() const override { return "greedy"; }
  bool IsSelector() const override { return true; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    candidates.selected = -1;
    const TokenData* data = candidates.data.data();
    const int64_t n = static_cast<int64_t>(candidates.data.size());
    if (n == 0) return;
    int64_t best = 0;
    if (!candidates.sorted) {
      for (int64_t i = 1; i < n; ++i) {
        if (data[i].logit > data[best].logit ||
            (data[i].logit == data[best].logit && data[i].id < data[best].id)) {
          best = i;
        }
      }
    }
    if (data[best].logit == kNegInf) return;
    candidates.selected = best;
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    // The first maximum, i.e. the lowest id among ties, as Apply picks.
    TopOfArray(logits.data(), logits.size(), 1, &best_);
    candidates.selected =
        best_.empty() || best_[0].logit == kNegInf ? -1 : best_[0].id;
    return DenseApply::kSelected;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<GreedyStage>();
  }

 private:
  std::vector<TokenData> best_;  // (1) reused.
};

}  // namespace

StageInfo GreedyStageInfo() {
  StageInfo info{
      "greedy",
      "Selector: the candidate with the highest logit (ties: lowest id). "
      "Deterministic; ignores the seed.",
      StageKind::kSelector,
      {},
      [](const StageParams&) { return std::make_unique<GreedyStage>(); }};
  info.selects_top = true;
  return info;
}

}  // namespace fm::sampler
