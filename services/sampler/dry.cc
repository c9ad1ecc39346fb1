// The `dry` filter ("Don't Repeat Yourself"): penalises a token that would
// extend a repeat of the history, exponentially in the repeat's length.
#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"
#include "services/sampler/token_window.h"

namespace fm::sampler {
namespace {

// Longest repeat considered; longer ones get this length's penalty.
constexpr int64_t kMaxMatch = 64;

// logit -= multiplier * base^(m - allowed_length) for a repeat of length m.
struct PenaliseRepeatLength {
  double multiplier;
  double base;
  int64_t allowed_length;
  void operator()(float& logit, int32_t m) const {
    if (logit == kNegInf) return;
    logit =
        ClampToFloat(logit - multiplier * std::pow(base, m - allowed_length));
  }
};

class DryStage final : public SamplerStage {
 public:
  DryStage(double multiplier, double base, int64_t allowed_length,
           int64_t last_n, const IdList& breakers)
      : multiplier_(multiplier),
        base_(base),
        allowed_length_(allowed_length),
        window_(last_n) {
    for (int64_t id : breakers) breakers_.insert(static_cast<TokenId>(id));
  }

  absl::string_view Name() const override { return "dry"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (FindRepeats())
      ForEachCounted(candidates, match_,
                     PenaliseRepeatLength{multiplier_, base_, allowed_length_});
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (FindRepeats())
      ForEachCountedDense(
          logits, match_,
          PenaliseRepeatLength{multiplier_, base_, allowed_length_});
    return DenseApply::kStillDense;
  }

  void Accept(TokenId token) override { window_.Push(token); }
  void Reset() override { window_.Clear(); }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<DryStage>(*this);
  }

 private:
  // Fills match_: for every token that would extend a repeat of length
  // m >= allowed_length, the longest such m. False when there is none.
  bool FindRepeats() {
    const auto& h = window_.tokens();
    const int64_t n = static_cast<int64_t>(h.size());
    match_.clear();
    if (multiplier_ == 0.0 || n < 2 || breakers_.contains(h[n - 1])) {
      return false;
    }
    // For every earlier occurrence of the last token, how long the repeat
    // ending there is; the token that followed it would extend the repeat.
    for (int64_t j = n - 2; j >= 0; --j) {
      if (h[j] != h[n - 1]) continue;
      const TokenId next = h[j + 1];
      if (breakers_.contains(next)) continue;
      int64_t m = 0;
      while (m <= j && m < kMaxMatch && h[j - m] == h[n - 1 - m] &&
             !breakers_.contains(h[j - m])) {
        ++m;
      }
      if (m < allowed_length_) continue;
      int32_t& best = match_[next];
      best = std::max<int32_t>(best, static_cast<int32_t>(m));
    }
    return !match_.empty();
  }

  double multiplier_;
  double base_;
  int64_t allowed_length_;
  TokenWindow window_;
  absl::flat_hash_set<TokenId> breakers_;
  absl::flat_hash_map<TokenId, int32_t> match_;  // Reused per Apply.
};

}  // namespace

StageInfo DryStageInfo() {
  return {"dry",
          "Filter: a token that would continue a sequence repeated from the "
          "history (length m >= allowed_length) gets logit -= multiplier * "
          "base^(m - allowed_length).",
          StageKind::kFilter,
          {FloatParam("multiplier", 0.0, 100.0, 0.8, "penalty scale; 0 = off"),
           FloatParam("base", 1.0, 100.0, 1.75,
                      "growth of the penalty per extra repeated token"),
           IntParam("allowed_length", 1, 1 << 16, 2,
                    "repeats shorter than this are not penalised"),
           IntParam("last_n", -1, 1 << 20, 1024,
                    "window of recent tokens searched; -1 = whole history"),
           IdListParam("breakers",
                       "token ids that end a repeat (e.g. newline, quotes)")},
          [](const StageParams& p) {
            return std::make_unique<DryStage>(
                p.Float("multiplier"), p.Float("base"), p.Int("allowed_length"),
                p.Int("last_n"), p.Ids("breakers"));
          }};
}

}  // namespace fm::sampler
