// The plain-data description of a sampling chain (stage names and their
// parameters), as parsed from JSON or a request, before it is validated.
#ifndef FM_SERVICES_SAMPLER_CHAIN_SPEC_H_
#define FM_SERVICES_SAMPLER_CHAIN_SPEC_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fm::sampler {

using IdList = std::vector<int64_t>;
// (token id, bias) pairs; a bias of -inf bans the token.
using IdBiasList = std::vector<std::pair<int64_t, double>>;
using StringList = std::vector<std::string>;

// One parameter value as given; the registry checks it against the stage's
// declared type (an integer is accepted where a float is expected).
using ParamValue = std::variant<bool, int64_t, double, IdList, IdBiasList,
                                std::string, StringList>;

struct StageSpec {
  std::string stage;                         // Registry name, e.g. "top_k".
  std::map<std::string, ParamValue> params;  // Absent = the default.
};

using ChainSpec = std::vector<StageSpec>;

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_CHAIN_SPEC_H_
