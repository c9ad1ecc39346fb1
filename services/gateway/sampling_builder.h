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

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_SAMPLING_BUILDER_H_
