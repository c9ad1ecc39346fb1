// The `dist` selector: one seeded draw from softmax(logits) over the
// candidates left, using the (seed, sequence, step) stream of the context.
#include <cmath>
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class DistStage final : public SamplerStage {
 public:
  absl::string_view Name() const override { return "dist"; }
  bool IsSelector() const override { return true; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    // The draw is taken even for an empty set so that later draws of the
    // same step do not depend on it.
    const double u = ctx.rng.NextUniform();
    Softmax(candidates);
    candidates.selected = DrawFromProbs(candidates, u);
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    // Bit for bit what Softmax + DrawFromProbs give on the same logits.
    const double u = ctx.rng.NextUniform();
    const size_t n = logits.size();
    candidates.selected = -1;
    const float max_logit = MaxOf(logits.data(), n);
    if (max_logit == kNegInf) return DenseApply::kSelected;
    exps_.resize(n);
    const float sum = ExpShiftSum(logits.data(), exps_.data(), n, max_logit);
    // Exactly LogSumExp(logits): the same max, lanes and sum.
    candidates.log_normalizer =
        static_cast<double>(max_logit) + std::log(static_cast<double>(sum));
    const float inv = 1.0f / sum;
    double cumulative = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const float prob = exps_[i] * inv;
      if (prob <= 0.0f) continue;
      cumulative += prob;
      candidates.selected = static_cast<int64_t>(i);
      if (cumulative > u) break;
    }
    return DenseApply::kSelected;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<DistStage>();
  }

 private:
  std::vector<float> exps_;  // (vocab_size) reused.
};

}  // namespace

StageInfo DistStageInfo() {
  StageInfo info{
      "dist",
      "Selector: draws one candidate with probability softmax(logit), "
      "seeded by (seed, sequence, step) so the same key gives the same "
      "token anywhere.",
      StageKind::kSelector,
      {},
      [](const StageParams&) { return std::make_unique<DistStage>(); }};
  info.draws_random = true;
  return info;
}

}  // namespace fm::sampler
