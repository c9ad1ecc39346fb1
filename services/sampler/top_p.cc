// The `top_p` (nucleus) filter: keeps the smallest most-likely set whose
// probability reaches p, selecting a growing head instead of sorting all.
#include <algorithm>
#include <memory>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

constexpr size_t kFirstHead = 64;
constexpr size_t kHeadGrowth = 8;

// True when a head of `head` out of `n` is big enough that sorting all of
// them is cheaper than selecting again.
bool SortEverything(size_t head, size_t n) { return head * 4 >= n; }

class TopPStage final : public SamplerStage {
 public:
  TopPStage(double p, int64_t min_keep) : p_(p), min_keep_(min_keep) {}

  absl::string_view Name() const override { return "top_p"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    const size_t n = candidates.size();
    if (p_ >= 1.0 || n <= static_cast<size_t>(min_keep_)) return;
    Softmax(candidates);
    for (size_t head = kFirstHead; !candidates.sorted; head *= kHeadGrowth) {
      if (SortEverything(head, n)) {
        PartialSortDescending(candidates, n);
        break;
      }
      TopByLogit(candidates, head, &head_);
      if (const size_t keep = Nucleus(head_); keep > 0) {
        candidates.data.assign(head_.begin(), head_.begin() + keep);
        candidates.sorted = true;
        candidates.dense = false;
        return;
      }
    }
    const size_t keep = Nucleus(candidates.data);
    candidates.data.resize(keep > 0 ? keep : n);  // 0: rounding kept sum < p.
    candidates.sorted = true;
    candidates.dense = false;
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    const size_t n = logits.size();
    if (p_ >= 1.0 || n <= static_cast<size_t>(min_keep_)) {
      return DenseApply::kStillDense;
    }
    // The same probabilities Softmax computes, bit for bit.
    const float max_logit = MaxOf(logits.data(), n);
    if (max_logit == kNegInf) return DenseApply::kUnsupported;
    const float inv = 1.0f / ExpShiftSum(logits.data(), nullptr, n, max_logit);
    for (size_t head = kFirstHead; !SortEverything(head, n);
         head *= kHeadGrowth) {
      TopOfArray(logits.data(), n, head, &candidates.data);
      for (TokenData& d : candidates.data) {
        d.prob = FastExp(d.logit - max_logit) * inv;
      }
      if (const size_t keep = Nucleus(candidates.data); keep > 0) {
        candidates.data.resize(keep);
        candidates.selected = -1;
        candidates.sorted = true;
        candidates.dense = false;
        return DenseApply::kReduced;
      }
    }
    return DenseApply::kUnsupported;  // A wide nucleus: Apply sorts.
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<TopPStage>(p_, min_keep_);
  }

 private:
  // Over candidates sorted highest first: how many to keep, or 0 when even
  // all of them do not reach p.
  size_t Nucleus(const std::vector<TokenData>& sorted) const {
    const size_t min_keep = static_cast<size_t>(min_keep_);
    double cumulative = 0.0;
    for (size_t i = 0; i < sorted.size(); ++i) {
      cumulative += sorted[i].prob;
      if (cumulative >= p_ && i + 1 >= min_keep) return i + 1;
    }
    return 0;
  }

  double p_;
  int64_t min_keep_;
  std::vector<TokenData> head_;  // (head) reused.
};

}  // namespace

StageInfo TopPStageInfo() {
  return {"top_p",
          "Filter (nucleus): keeps the most likely candidates until their "
          "probability sums to at least p.",
          StageKind::kFilter,
          {FloatParam("p", 0.0, 1.0, 0.95, "probability mass kept; 1 = off",
                      /*min_exclusive=*/true),
           IntParam("min_keep", 1, 1 << 20, 1,
                    "never keep fewer candidates than this")},
          [](const StageParams& p) {
            return std::make_unique<TopPStage>(p.Float("p"), p.Int("min_keep"));
          }};
}

}  // namespace fm::sampler
