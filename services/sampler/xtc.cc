// The `xtc` filter (Exclude Top Choices): with the given probability, drops
// every token at or above the threshold except the least likely of them.
#include <memory>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class XtcStage final : public SamplerStage {
 public:
  XtcStage(double probability, double threshold, int64_t min_keep)
      : probability_(probability),
        threshold_(static_cast<float>(threshold)),
        min_keep_(min_keep) {}

  absl::string_view Name() const override { return "xtc"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (probability_ <= 0.0) return;
    // Always draw, so later draws of the step never depend on this one.
    const double u = ctx.rng.NextUniform();
    const size_t n = candidates.size();
    if (u >= probability_ || n < 2) return;
    Softmax(candidates);
    const TokenData* data = candidates.data.data();
    size_t above = 0;
    int64_t least = -1;  // The least likely token at or above the threshold.
    for (size_t i = 0; i < n; ++i) {
      if (data[i].prob < threshold_) continue;
      ++above;
      if (least < 0 || data[i].prob < data[least].prob ||
          (data[i].prob == data[least].prob && data[i].id > data[least].id)) {
        least = static_cast<int64_t>(i);
      }
    }
    if (above < 2) return;
    if (n - (above - 1) < static_cast<size_t>(min_keep_)) return;
    const TokenId keep_id = data[least].id;
    const float threshold = threshold_;
    KeepIf(candidates, [threshold, keep_id](const TokenData& d) {
      return d.prob < threshold || d.id == keep_id;
    });
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<XtcStage>(*this);
  }

 private:
  double probability_;
  float threshold_;
  int64_t min_keep_;
};

}  // namespace

StageInfo XtcStageInfo() {
  StageInfo info{
      "xtc",
      "Filter (Exclude Top Choices): with probability `probability`, "
      "removes all tokens with probability >= threshold except the least "
      "likely of them (only when at least two qualify).",
      StageKind::kFilter,
      {FloatParam("probability", 0.0, 1.0, 0.5,
                  "chance that the exclusion happens at a step"),
       FloatParam("threshold", 0.0, 1.0, 0.1,
                  "probability at or above which a token is a top choice",
                  /*min_exclusive=*/true),
       IntParam("min_keep", 1, 1 << 20, 1,
                "never keep fewer candidates than this")},
      [](const StageParams& p) {
        return std::make_unique<XtcStage>(
            p.Float("probability"), p.Float("threshold"), p.Int("min_keep"));
      }};
  info.draws_random = true;
  return info;
}

}  // namespace fm::sampler
