// The `ban` filter: the listed token ids can never be chosen (their logits
// become -inf, or they are removed from a reduced set).
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class BanStage final : public SamplerStage {
 public:
  explicit BanStage(const IdList& ids) {
    for (int64_t id : ids) set_.insert(static_cast<TokenId>(id));
    ids_.assign(set_.begin(), set_.end());
  }

  absl::string_view Name() const override { return "ban"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (ids_.empty() || candidates.empty()) return;
    if (candidates.dense) {
      // O(|ids|): a -inf logit has probability 0 and is never selected.
      const int64_t n = static_cast<int64_t>(candidates.size());
      for (TokenId id : ids_) {
        if (id < n) candidates.data[id].logit = kNegInf;
      }
      candidates.sorted = false;
      return;
    }
    const auto& set = set_;
    KeepIf(candidates,
           [&set](const TokenData& d) { return !set.contains(d.id); });
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    const int64_t n = static_cast<int64_t>(logits.size());
    for (TokenId id : ids_) {
      if (id < n) logits[id] = kNegInf;
    }
    return DenseApply::kStillDense;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<BanStage>(*this);
  }

 private:
  absl::flat_hash_set<TokenId> set_;
  std::vector<TokenId> ids_;
};

}  // namespace

StageInfo BanStageInfo() {
  return {"ban",
          "Filter: the listed token ids are never chosen.",
          StageKind::kFilter,
          {IdListParam("ids", "banned token ids")},
          [](const StageParams& p) {
            return std::make_unique<BanStage>(p.Ids("ids"));
          }};
}

}  // namespace fm::sampler
