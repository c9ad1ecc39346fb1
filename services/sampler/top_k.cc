// The `top_k` filter: keeps the k highest-logit candidates, sorted. One
// linear scan with a k-element heap; never sorts the vocabulary.
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class TopKStage final : public SamplerStage {
 public:
  explicit TopKStage(int64_t k) : k_(k) {}

  absl::string_view Name() const override { return "top_k"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (k_ <= 0) return;
    KeepTopK(candidates, static_cast<size_t>(k_), scratch_);
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (k_ <= 0) return DenseApply::kStillDense;
    // k >= vocabulary: a full sort, as Apply would do.
    if (static_cast<size_t>(k_) >= logits.size()) {
      return DenseApply::kUnsupported;
    }
    TopOfArray(logits.data(), logits.size(), static_cast<size_t>(k_),
               &candidates.data);
    candidates.selected = -1;
    candidates.sorted = true;
    candidates.dense = false;
    return DenseApply::kReduced;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<TopKStage>(k_);
  }

 private:
  int64_t k_;
  std::vector<TokenData> scratch_;  // (k) reused selection heap.
};

}  // namespace

StageInfo TopKStageInfo() {
  StageInfo info{
      "top_k",
      "Filter: keeps the k most likely candidates (sorted, most likely "
      "first).",
      StageKind::kFilter,
      {IntParam("k", 0, 1 << 24, 40,
                "number of candidates kept; 0 = all (off)")},
      [](const StageParams& p) {
        return std::make_unique<TopKStage>(p.Int("k"));
      }};
  info.keeps_top_param = "k";
  return info;
}

}  // namespace fm::sampler
