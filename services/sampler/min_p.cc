// The `min_p` filter: keeps the candidates whose probability is at least p
// times that of the most likely one (a logit threshold; no sort needed).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class MinPStage final : public SamplerStage {
 public:
  MinPStage(double p, int64_t min_keep) : p_(p), min_keep_(min_keep) {}

  absl::string_view Name() const override { return "min_p"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    const size_t n = candidates.size();
    const size_t min_keep = static_cast<size_t>(min_keep_);
    if (p_ <= 0.0 || n <= min_keep) return;
    const float max_logit = MaxLogit(candidates);
    if (max_logit == kNegInf) return;
    // p_i >= p * p_max  <=>  logit_i >= max_logit + log(p).
    const float threshold =
        static_cast<float>(static_cast<double>(max_logit) + std::log(p_));
    const TokenData* data = candidates.data.data();
    if (candidates.sorted) {
      size_t keep = 0;
      while (keep < n && data[keep].logit >= threshold) ++keep;
      keep = std::max(keep, min_keep);
      if (keep < n) {
        candidates.data.resize(keep);
        candidates.dense = false;
      }
      return;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) count += data[i].logit >= threshold;
    if (count >= min_keep) {
      KeepIf(candidates,
             [threshold](const TokenData& d) { return d.logit >= threshold; });
    } else {
      KeepTopK(candidates, min_keep, scratch_);
    }
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    const size_t n = logits.size();
    const size_t min_keep = static_cast<size_t>(min_keep_);
    if (p_ <= 0.0 || n <= min_keep) return DenseApply::kStillDense;
    const float max_logit = MaxOf(logits.data(), n);
    if (max_logit == kNegInf) return DenseApply::kStillDense;
    const float threshold =
        static_cast<float>(static_cast<double>(max_logit) + std::log(p_));
    candidates.data.clear();
    CollectAtLeast(logits.data(), n, threshold, &candidates.data);
    if (candidates.data.size() == n) return DenseApply::kStillDense;
    candidates.selected = -1;
    candidates.sorted = false;
    candidates.dense = false;
    if (candidates.data.size() < min_keep) {
      TopOfArray(logits.data(), n, min_keep, &candidates.data);
      candidates.sorted = true;
    }
    return DenseApply::kReduced;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<MinPStage>(p_, min_keep_);
  }

 private:
  double p_;
  int64_t min_keep_;
  std::vector<TokenData> scratch_;
};

}  // namespace

StageInfo MinPStageInfo() {
  return {"min_p",
          "Filter: keeps candidates whose probability is at least p times "
          "the top candidate's.",
          StageKind::kFilter,
          {FloatParam("p", 0.0, 1.0, 0.05,
                      "minimum probability relative to the top; 0 = off"),
           IntParam("min_keep", 1, 1 << 20, 1,
                    "never keep fewer candidates than this")},
          [](const StageParams& p) {
            return std::make_unique<MinPStage>(p.Float("p"), p.Int("min_keep"));
          }};
}

}  // namespace fm::sampler
