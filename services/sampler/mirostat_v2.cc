// The `mirostat_v2` selector (Basu et al. 2021): truncates tokens whose
// surprise exceeds mu, draws, then steers mu toward the target surprise tau.
#include <cmath>
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class MirostatV2Stage final : public SamplerStage {
 public:
  MirostatV2Stage(double tau, double eta)
      : tau_(tau), eta_(eta), mu_(2.0 * tau) {}

  absl::string_view Name() const override { return "mirostat_v2"; }
  bool IsSelector() const override { return true; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    const double u = ctx.rng.NextUniform();
    candidates.selected = -1;
    if (candidates.empty()) return;
    Softmax(candidates);
    // surprise = -log2(p) <= mu  <=>  p >= 2^-mu.
    const float min_prob = static_cast<float>(std::exp2(-mu_));
    size_t count = 0;
    for (const TokenData& d : candidates.data) count += d.prob >= min_prob;
    if (count == 0) {
      KeepTopK(candidates, 1, scratch_);
    } else {
      KeepIf(candidates,
             [min_prob](const TokenData& d) { return d.prob >= min_prob; });
    }
    Softmax(candidates);
    candidates.selected = DrawFromProbs(candidates, u);
    if (candidates.selected < 0) return;
    const double prob = candidates.data[candidates.selected].prob;
    const double surprise = -std::log2(prob);
    mu_ -= eta_ * (surprise - tau_);
  }

  void Reset() override { mu_ = 2.0 * tau_; }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<MirostatV2Stage>(*this);
  }

 private:
  double tau_;
  double eta_;
  double mu_;  // Adaptive: not rebuilt from history (session state only).
  std::vector<TokenData> scratch_;
};

}  // namespace

StageInfo MirostatV2StageInfo() {
  StageInfo info{
      "mirostat_v2",
      "Selector: keeps tokens with surprise (-log2 p) <= mu, draws one, "
      "then mu -= eta * (surprise - tau). mu starts at 2 * tau and lives "
      "only as long as the session (not rebuilt from a history).",
      StageKind::kSelector,
      {FloatParam("tau", 0.0, 100.0, 5.0, "target surprise in bits"),
       FloatParam("eta", 0.0, 1.0, 0.1, "learning rate of mu")},
      [](const StageParams& p) {
        return std::make_unique<MirostatV2Stage>(p.Float("tau"),
                                                 p.Float("eta"));
      }};
  info.draws_random = true;
  info.keeps_session_state = true;
  return info;
}

}  // namespace fm::sampler
