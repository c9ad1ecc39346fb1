// The `logit_bias` filter: adds a fixed bias to the logits of given token
// ids (OpenAI's logit_bias); a bias of -inf bans the token.
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

class LogitBiasStage final : public SamplerStage {
 public:
  explicit LogitBiasStage(const IdBiasList& biases) {
    for (const auto& [id, bias] : biases) {
      lookup_[static_cast<TokenId>(id)] = static_cast<float>(bias);
    }
    biases_.assign(lookup_.begin(), lookup_.end());
  }

  absl::string_view Name() const override { return "logit_bias"; }

  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override {
    if (biases_.empty() || candidates.empty()) return;
    bool touched = false;
    if (candidates.dense) {
      const int64_t n = static_cast<int64_t>(candidates.size());
      for (const auto& [id, bias] : biases_) {
        if (id >= n) continue;
        Add(candidates.data[id], bias);
        touched = true;
      }
    } else {
      for (TokenData& d : candidates.data) {
        auto it = lookup_.find(d.id);
        if (it == lookup_.end()) continue;
        Add(d, it->second);
        touched = true;
      }
    }
    if (touched) candidates.sorted = false;
  }

  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override {
    const int64_t n = static_cast<int64_t>(logits.size());
    for (const auto& [id, bias] : biases_) {
      if (id < n) AddTo(logits[id], bias);
    }
    return DenseApply::kStillDense;
  }

  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<LogitBiasStage>(*this);
  }

 private:
  static void Add(TokenData& d, float bias) { AddTo(d.logit, bias); }
  static void AddTo(float& logit, float bias) {
    if (bias == kNegInf) {
      logit = kNegInf;
    } else if (logit != kNegInf) {
      logit = ClampToFloat(static_cast<double>(logit) + bias);
    }
  }

  absl::flat_hash_map<TokenId, float> lookup_;
  std::vector<std::pair<TokenId, float>> biases_;
};

}  // namespace

StageInfo LogitBiasStageInfo() {
  return {"logit_bias",
          "Filter: adds a bias to the logits of chosen token ids; -inf bans "
          "a token.",
          StageKind::kFilter,
          {IdBiasMapParam("bias", -100.0, 100.0,
                          "token id -> value added to its logit; -inf "
                          "(\"-inf\" or false in JSON) bans it")},
          [](const StageParams& p) {
            return std::make_unique<LogitBiasStage>(p.Biases("bias"));
          }};
}

}  // namespace fm::sampler
