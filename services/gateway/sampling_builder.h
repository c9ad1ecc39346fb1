// Builds the sampler chain a Generate request asks for: its inline chain,
// or one made from the shorthands (temperature, top_k, ...) in llama.cpp's
// order, validated with messages that name the field, value and range.
#ifndef FM_SERVICES_GATEWAY_SAMPLING_BUILDER_H_
#define FM_SERVICES_GATEWAY_SAMPLING_BUILDER_H_

#include "absl/status/statusor.h"
#include "fm/v1/gateway.pb.h"

namespace fm::gateway {

// The SamplingSpec to open the sampler session with: `request.sampling` when
// set; else a chain built from `request.shorthand` when any shorthand is
// set; else the sampler's "default" profile. INVALID_ARGUMENT for a
// shorthand out of range.
absl::StatusOr<fm::v1::SamplingSpec> BuildSamplingSpec(
    const fm::v1::GenerateRequest& request);

// Whether a chain draws no random numbers (its outcome depends only on the
// logits and history), so a request using it is deterministic without a
// seed.
bool ChainIsDeterministic(const fm::v1::SamplerChain& chain);

// How many of the highest logits the model must send for `chain` to draw
// exactly what it would draw from the whole vector: 1 for a lone greedy
// selector, k when the chain starts with top_k, else 0 (send everything).
// `needs_full_distribution` (raw logprobs, traces, shadows) forces 0.
// On this machine's loopback a dense 32,000-entry vector costs ~0.5 ms per
// hop; the head of 40 costs almost nothing.
int32_t SufficientTopK(const fm::v1::SamplerChain& chain,
                       bool needs_full_distribution);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_SAMPLING_BUILDER_H_
