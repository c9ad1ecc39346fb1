// The `temperature` filter: divides every logit by t (t < 1 sharpens, t > 1
// flattens); t = 0 keeps only the highest-logit candidate (greedy).
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class TemperatureStage final : public SamplerStage {
 public:
  explicit TemperatureStage(double temperature) : temperature_(temperature) {}

  absl::string_view Name() const override { return "temperature"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (temperature_ == 1.0) return;
    if (temperature_ == 0.0) {
      KeepTopK(candidates, 1, scratch_);
      return;
    }
    // Monotone in the logit, so `sorted` and `dense` survive.
    const float inv = Inverse();
    for (TokenData& d : candidates.data) d.logit = ScaleLogit(d.logit, inv);
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (temperature_ == 0.0) {
      TopOfArray(logits.data(), logits.size(), 1, &candidates.data);
      candidates.selected = -1;
      candidates.sorted = true;
      candidates.dense = false;
      return DenseApply::kReduced;
    }
    if (temperature_ != 1.0) {
      ScaleLogits(logits.data(), logits.size(), Inverse());
    }
    return DenseApply::kStillDense;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<TemperatureStage>(temperature_);
  }

 private:
  float Inverse() const { return static_cast<float>(1.0 / temperature_); }

  double temperature_;
  std::vector<TokenData> scratch_;
};

}  // namespace

StageInfo TemperatureStageInfo() {
  return {"temperature",
          "Filter: logits / temperature. Below 1 sharpens the distribution, "
          "above 1 flattens it; 0 keeps only the most likely token.",
          StageKind::kFilter,
          {FloatParam("temperature", 0.0, 100.0, 1.0,
                      "divisor of the logits; 0 = greedy, 1 = unchanged")},
          [](const StageParams& p) {
            return std::make_unique<TemperatureStage>(p.Float("temperature"));
          }};
}

}  // namespace fm::sampler
