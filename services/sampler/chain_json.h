// Chain specs as JSON: `[{"stage":"top_k","k":40},{"stage":"dist"}]` to a
// ChainSpec and back. Syntax only; BuildChain validates stages and values.
#ifndef FM_SERVICES_SAMPLER_CHAIN_JSON_H_
#define FM_SERVICES_SAMPLER_CHAIN_JSON_H_

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/sampler/chain_spec.h"

namespace fm::sampler {

// Largest chain JSON accepted, and its deepest nesting.
constexpr size_t kMaxChainJsonBytes = 4 << 20;
constexpr int kMaxChainJsonDepth = 16;

// Parses a JSON array of objects, each with a string "stage" and that
// stage's parameters. Values: true/false, integers, floats, an array of ids
// (id lists), an object {"id": bias} or an array of [id, bias] pairs (bias
// maps; a bias of "-inf" or false bans). INVALID_ARGUMENT, naming the
// element and key, for anything else. Never throws.
absl::StatusOr<ChainSpec> ParseChainJson(absl::string_view text);

// The same from an already parsed value (used by the profile store).
absl::StatusOr<ChainSpec> ChainSpecFromJson(const nlohmann::json& value);

// Compact JSON that ParseChainJson reads back to an equal ChainSpec.
std::string ChainToJson(const ChainSpec& spec);
nlohmann::json ChainSpecToJson(const ChainSpec& spec);

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_CHAIN_JSON_H_
