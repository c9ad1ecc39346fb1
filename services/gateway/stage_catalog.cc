// StageCatalog: reproducibility and logits-head decisions from the stage
// traits a sampler declares.
#include "services/gateway/stage_catalog.h"

#include <cmath>

namespace fm::gateway {

StageCatalog::StageCatalog(const fm::v1::ListStagesResponse& stages) {
  for (const fm::v1::StageInfo& stage : stages.stages()) {
    stages_[stage.name()] = stage;
  }
}

bool StageCatalog::Knows(const std::string& stage) const {
  return stages_.count(stage) > 0;
}

bool StageCatalog::AllStages(
    const fm::v1::SamplerChain& chain,
    const std::function<bool(const fm::v1::StageInfo&)>& holds) const {
  for (const fm::v1::StageSpec& spec : chain.stages()) {
    const auto stage = stages_.find(spec.stage());
    if (stage == stages_.end() || !holds(stage->second)) return false;
  }
  return true;
}

bool StageCatalog::ChainIsDeterministic(
    const fm::v1::SamplerChain& chain) const {
  return AllStages(chain, [](const fm::v1::StageInfo& stage) {
    return !stage.draws_random();
  });
}

bool StageCatalog::ChainCanResume(const fm::v1::SamplerChain& chain) const {
  return AllStages(chain, [](const fm::v1::StageInfo& stage) {
    return !stage.keeps_session_state();
  });
}

int32_t StageCatalog::SufficientTopK(const fm::v1::SamplerChain& chain,
                                     bool needs_full_distribution) const {
  if (needs_full_distribution || chain.stages_size() == 0) return 0;
  const fm::v1::StageSpec& first = chain.stages(0);
  const auto stage = stages_.find(first.stage());
  if (stage == stages_.end()) return 0;
  if (chain.stages_size() == 1 && stage->second.selects_top()) return 1;
  const std::string& param = stage->second.keeps_top_param();
  if (param.empty()) return 0;
  const auto& fields = first.params().fields();
  const auto n = fields.find(param);
  if (n == fields.end() || !n->second.has_number_value()) return 0;
  const double value = n->second.number_value();
  // 0 means "off" (every token stays): send everything.
  if (!(value >= 1) || value > (1 << 20) || value != std::floor(value)) {
    return 0;
  }
  return static_cast<int32_t>(value);
}

StageCatalog::LogitsHead StageCatalog::SufficientHead(
    const fm::v1::SamplerChain& chain, bool needs_full_distribution) const {
  if (needs_full_distribution || chain.stages_size() < 2) {
    return {SufficientTopK(chain, needs_full_distribution), false};
  }
  const auto first = stages_.find(chain.stages(0).stage());
  if (first == stages_.end() || !first->second.reports_allowed()) {
    return {SufficientTopK(chain, needs_full_distribution), false};
  }
  fm::v1::SamplerChain rest;
  rest.mutable_stages()->CopyFrom(chain.stages());
  rest.mutable_stages()->erase(rest.mutable_stages()->begin());
  const int32_t k = SufficientTopK(rest, needs_full_distribution);
  return {k, k > 0};
}

}  // namespace fm::gateway
