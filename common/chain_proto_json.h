// Sampler chains between their two spellings: the JSON users write
// (`[{"stage":"top_k","k":40},{"stage":"dist"}]`) and fm.v1.SamplerChain
// (stage name + Struct params). Syntax only: the sampler validates stages.
#ifndef FM_COMMON_CHAIN_PROTO_JSON_H_
#define FM_COMMON_CHAIN_PROTO_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fm/v1/common.pb.h"

namespace fm {

// INVALID_ARGUMENT (naming the element) unless `json` is an array of
// objects each with a string "stage".
absl::StatusOr<fm::v1::SamplerChain> ChainFromJson(absl::string_view json);

// The JSON array form of `chain`.
std::string ChainToJson(const fm::v1::SamplerChain& chain);

}  // namespace fm

#endif  // FM_COMMON_CHAIN_PROTO_JSON_H_
