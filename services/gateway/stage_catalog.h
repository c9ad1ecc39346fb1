// StageCatalog: what the gateway needs to know about the stages of one
// sampler deployment (from its ListStages), so that decisions such as "this
// request is reproducible, cache it" or "send only the top 40 logits" come
// from the sampler's own declarations rather than from stage names the
// gateway happens to know. A stage it does not know is treated the safe way
// (random; needs every logit).
#ifndef FM_SERVICES_GATEWAY_STAGE_CATALOG_H_
#define FM_SERVICES_GATEWAY_STAGE_CATALOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "fm/v1/sampler.pb.h"

namespace fm::gateway {

class StageCatalog {
 public:
  explicit StageCatalog(const fm::v1::ListStagesResponse& stages);

  bool Knows(const std::string& stage) const;

  // Whether a chain draws no random numbers (its outcome depends only on
  // the logits and history), so a request using it is deterministic
  // without a seed. False when any stage is unknown.
  bool ChainIsDeterministic(const fm::v1::SamplerChain& chain) const;

  // How many of the highest logits the model must send for `chain` to draw
  // exactly what it would draw from the whole vector: 1 for a chain of one
  // stage that selects the top logit (greedy); N when the first stage keeps
  // only the top N (top_k); else 0 (send everything).
  // `needs_full_distribution` (raw logprobs, traces, shadows) forces 0.
  // On this machine's loopback a dense 32,000-entry vector costs ~0.5 ms per
  // hop; the head of 40 costs almost nothing.
  int32_t SufficientTopK(const fm::v1::SamplerChain& chain,
                         bool needs_full_distribution) const;

  // The head of the logits the model must send for `chain`: the top
  // `top_k` (0: every logit), taken among the ids the first stage allows
  // when `among_allowed` — a first stage that reports_allowed (a
  // constraint) bans everything else, so the rest of the chain needs only
  // as large a head of what remains as it would need of the whole vector
  // (SufficientTopK of the rest). The sampler then reports each step's
  // allowed ids, and they travel to the model instead of the dense
  // vector to the sampler.
  struct LogitsHead {
    int32_t top_k = 0;
    bool among_allowed = false;
  };
  LogitsHead SufficientHead(const fm::v1::SamplerChain& chain,
                            bool needs_full_distribution) const;

  // Whether a sequence sampled with `chain` continues exactly in a new
  // sampler session given its token history: no stage keeps other state
  // (mirostat's mu). False when any stage is unknown.
  bool ChainCanResume(const fm::v1::SamplerChain& chain) const;

 private:
  // True when every stage of `chain` is known and `holds` for it.
  bool AllStages(
      const fm::v1::SamplerChain& chain,
      const std::function<bool(const fm::v1::StageInfo&)>& holds) const;

  std::map<std::string, fm::v1::StageInfo> stages_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_STAGE_CATALOG_H_
