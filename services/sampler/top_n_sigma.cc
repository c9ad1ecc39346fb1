// The `top_n_sigma` filter (Tang et al. 2024): keeps the tokens whose logit
// is within n standard deviations of the largest (a logit threshold).
#include <cmath>
#include <memory>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class TopNSigmaStage final : public SamplerStage {
 public:
  explicit TopNSigmaStage(double n) : n_(n) {}

  absl::string_view Name() const override { return "top_n_sigma"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    const TokenData* data = candidates.data.data();
    const size_t size = candidates.size();
    double sum = 0.0;
    double sum_sq = 0.0;
    size_t finite = 0;
    float max_logit = kNegInf;
    for (size_t i = 0; i < size; ++i) {
      const float logit = data[i].logit;
      if (logit == kNegInf) continue;
      max_logit = logit > max_logit ? logit : max_logit;
      sum += logit;
      ++finite;
    }
    if (finite < 2) return;
    const double mean = sum / static_cast<double>(finite);
    for (size_t i = 0; i < size; ++i) {
      const float logit = data[i].logit;
      if (logit == kNegInf) continue;
      const double d = logit - mean;
      sum_sq += d * d;
    }
    const double sigma = std::sqrt(sum_sq / static_cast<double>(finite));
    const float threshold =
        static_cast<float>(static_cast<double>(max_logit) - n_ * sigma);
    KeepIf(candidates,
           [threshold](const TokenData& d) { return d.logit >= threshold; });
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<TopNSigmaStage>(n_);
  }

 private:
  double n_;
};

}  // namespace

StageInfo TopNSigmaStageInfo() {
  return {"top_n_sigma",
          "Filter: keeps tokens whose logit is at least max - n * sigma "
          "(sigma = standard deviation of the finite logits).",
          StageKind::kFilter,
          {FloatParam("n", 0.0, 100.0, 1.0,
                      "number of standard deviations below the top logit")},
          [](const StageParams& p) {
            return std::make_unique<TopNSigmaStage>(p.Float("n"));
          }};
}

}  // namespace fm::sampler
