// The `typical_p` filter (locally typical sampling, Meister et al. 2022):
// keeps tokens whose surprise is nearest the entropy until their mass is p.
#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

constexpr size_t kFirstHead = 64;
constexpr size_t kHeadGrowth = 8;

class TypicalPStage final : public SamplerStage {
 public:
  TypicalPStage(double p, int64_t min_keep) : p_(p), min_keep_(min_keep) {}

  absl::string_view Name() const override { return "typical_p"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    const size_t n = candidates.size();
    const size_t min_keep = static_cast<size_t>(min_keep_);
    if (p_ >= 1.0 || n <= min_keep) return;
    const float max_logit = Softmax(candidates);
    const TokenData* data = candidates.data.data();
    if (max_logit == kNegInf) return;
    // log p_i = (logit_i - max) - log S, and a token at the max has
    // p = 1 / S exactly, so no logarithm per token is needed.
    size_t top = 0;
    while (data[top].logit != max_logit) ++top;
    const double log_s = -std::log(static_cast<double>(data[top].prob));
    // Entropy H = sum p_i * (log S - (logit_i - max)).
    double weighted = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (data[i].prob > 0.0f) {
        weighted += static_cast<double>(data[i].prob) *
                    (static_cast<double>(data[i].logit) - max_logit);
      }
    }
    const double entropy = log_s - weighted;
    // |surprise - entropy| of candidate i; the most typical come first.
    auto score = [&](size_t i) -> Key {
      const double surprise =
          data[i].prob > 0.0f
              ? log_s - (static_cast<double>(data[i].logit) - max_logit)
              : 1e300;
      return {std::abs(surprise - entropy), static_cast<uint32_t>(i)};
    };
    size_t keep = 0;
    for (size_t head = kFirstHead; keep == 0; head *= kHeadGrowth) {
      if (head * 4 >= n) {  // A wide typical set: sort all the keys.
        keys_.resize(n);
        for (size_t i = 0; i < n; ++i) keys_[i] = score(i);
        std::sort(keys_.begin(), keys_.end());
        keep = TypicalCount(data, n);
        if (keep == 0) keep = n;  // Rounding kept the sum below p.
        break;
      }
      // The `head` most typical by one scan with a max-heap of keys.
      keys_.clear();
      for (size_t i = 0; i < n; ++i) {
        const Key key = score(i);
        if (keys_.size() < head) {
          keys_.push_back(key);
          std::push_heap(keys_.begin(), keys_.end());
        } else if (key < keys_.front()) {
          std::pop_heap(keys_.begin(), keys_.end());
          keys_.back() = key;
          std::push_heap(keys_.begin(), keys_.end());
        }
      }
      std::sort_heap(keys_.begin(), keys_.end());
      keep = TypicalCount(data, keys_.size());
    }
    kept_.clear();
    for (size_t i = 0; i < keep; ++i) kept_.push_back(data[keys_[i].second]);
    candidates.data.assign(kept_.begin(), kept_.end());
    candidates.sorted = false;
    candidates.dense = false;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<TypicalPStage>(p_, min_keep_);
  }

 private:
  using Key = std::pair<double, uint32_t>;  // (score, candidate index).

  // Over the first `count` keys (sorted): how many to keep so that their
  // probability reaches p (and min_keep), or 0 if they do not reach it.
  size_t TypicalCount(const TokenData* data, size_t count) const {
    double cumulative = 0.0;
    for (size_t i = 0; i < count; ++i) {
      cumulative += data[keys_[i].second].prob;
      if (cumulative >= p_ && i + 1 >= static_cast<size_t>(min_keep_)) {
        return i + 1;
      }
    }
    return 0;
  }

  double p_;
  int64_t min_keep_;
  std::vector<Key> keys_;        // (head, or n when sorting all) reused.
  std::vector<TokenData> kept_;  // (keep) reused.
};

}  // namespace

StageInfo TypicalPStageInfo() {
  return {"typical_p",
          "Filter (locally typical): keeps tokens whose surprise is closest "
          "to the distribution's entropy, until their probability sums to p.",
          StageKind::kFilter,
          {FloatParam("p", 0.0, 1.0, 1.0, "probability mass kept; 1 = off",
                      /*min_exclusive=*/true),
           IntParam("min_keep", 1, 1 << 20, 1,
                    "never keep fewer candidates than this")},
          [](const StageParams& p) {
            return std::make_unique<TypicalPStage>(p.Float("p"),
                                                   p.Int("min_keep"));
          }};
}

}  // namespace fm::sampler
