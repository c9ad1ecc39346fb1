// The `allow` filter: only the listed token ids stay candidates (an empty
// list allows everything). Ids beyond the vocabulary are ignored.
#include <algorithm>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class AllowStage final : public SamplerStage {
 public:
  explicit AllowStage(const IdList& ids) {
    for (int64_t id : ids) ids_.push_back(static_cast<TokenId>(id));
    std::sort(ids_.begin(), ids_.end());
    ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
    set_.insert(ids_.begin(), ids_.end());
  }

  absl::string_view Name() const override { return "allow"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (ids_.empty()) return;
    if (candidates.dense) {
      // O(|ids|): gather the allowed entries, in id order.
      const int64_t n = static_cast<int64_t>(candidates.size());
      size_t out = 0;
      for (TokenId id : ids_) {
        if (id >= n) break;
        candidates.data[out++] = candidates.data[id];
      }
      candidates.data.resize(out);
      candidates.dense = false;
      candidates.sorted = false;
      return;
    }
    const auto& set = set_;
    KeepIf(candidates,
           [&set](const TokenData& d) { return set.contains(d.id); });
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    if (ids_.empty()) return DenseApply::kStillDense;
    const int64_t n = static_cast<int64_t>(logits.size());
    candidates.data.clear();
    for (TokenId id : ids_) {
      if (id >= n) break;
      candidates.data.push_back({id, logits[id], 0.0f});
    }
    candidates.selected = -1;
    candidates.sorted = false;
    candidates.dense = false;
    return DenseApply::kReduced;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<AllowStage>(*this);
  }

 private:
  std::vector<TokenId> ids_;  // Sorted, unique.
  absl::flat_hash_set<TokenId> set_;
};

}  // namespace

StageInfo AllowStageInfo() {
  return {"allow",
          "Filter: restricts the candidates to the listed token ids.",
          StageKind::kFilter,
          {IdListParam("ids", "allowed token ids; empty = no restriction")},
          [](const StageParams& p) {
            return std::make_unique<AllowStage>(p.Ids("ids"));
          }};
}

}  // namespace fm::sampler
