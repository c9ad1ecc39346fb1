// JSON <-> ChainSpec; see chain_json.h. nlohmann::json throws, so every call
// that could is either guarded by a type check or wrapped right here.
#include "services/sampler/chain_json.h"

#include <cmath>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json_nesting.h"

namespace fm::sampler {
namespace {

using Json = nlohmann::json;

constexpr double kBan = -std::numeric_limits<double>::infinity();

absl::Status Error(size_t element, absl::string_view key,
                   absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(
      "chain JSON element #", element, " key '", key, "': ", problem));
}

absl::StatusOr<int64_t> JsonInt(const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    return v.get<int64_t>();
  }
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError("integer too large");
    }
    return static_cast<int64_t>(u);
  }
  return absl::InvalidArgumentError("not an integer");
}

absl::StatusOr<double> JsonBias(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean() && !v.get<bool>()) return kBan;
  if (v.is_string() && v.get_ref<const std::string&>() == "-inf") return kBan;
  return absl::InvalidArgumentError(
      "a bias must be a number, \"-inf\" or false");
}

absl::StatusOr<ParamValue> ParseValue(size_t element, const std::string& key,
                                      const Json& v) {
  // A JSON Schema may be written inline (an object or a boolean schema):
  // the stage takes its text.
  if (key == "schema" && (v.is_object() || v.is_boolean())) {
    return ParamValue(v.dump());
  }
  if (v.is_boolean()) return ParamValue(v.get<bool>());
  if (v.is_string()) return ParamValue(v.get<std::string>());
  if (v.is_number_float()) return ParamValue(v.get<double>());
  if (v.is_number()) {
    absl::StatusOr<int64_t> i = JsonInt(v);
    if (!i.ok()) return Error(element, key, i.status().message());
    return ParamValue(*i);
  }
  if (v.is_object()) {  // {"15": -1.5, "16": "-inf"}
    IdBiasList biases;
    for (auto it = v.begin(); it != v.end(); ++it) {
      int64_t id;
      if (!absl::SimpleAtoi(it.key(), &id)) {
        return Error(
            element, key,
            absl::StrCat("map key '", it.key(), "' is not a token id"));
      }
      absl::StatusOr<double> bias = JsonBias(it.value());
      if (!bias.ok()) {
        return Error(element, key,
                     absl::StrCat("id ", id, ": ", bias.status().message()));
      }
      biases.emplace_back(id, *bias);
    }
    return ParamValue(std::move(biases));
  }
  if (v.is_array()) {
    if (!v.empty() && v.front().is_string()) {  // ["yes", "no"]
      StringList strings;
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) {
          return Error(element, key,
                       absl::StrCat("entry #", i, " is not a string"));
        }
        strings.push_back(v[i].get<std::string>());
      }
      return ParamValue(std::move(strings));
    }
    if (!v.empty() && v.front().is_array()) {  // [[15, -1.5], [16, false]]
      IdBiasList biases;
      for (size_t i = 0; i < v.size(); ++i) {
        const Json& pair = v[i];
        if (!pair.is_array() || pair.size() != 2) {
          return Error(
              element, key,
              absl::StrCat("entry #", i, " is not an [id, bias] pair"));
        }
        absl::StatusOr<int64_t> id = JsonInt(pair[0]);
        if (!id.ok()) {
          return Error(
              element, key,
              absl::StrCat("entry #", i, ": the id is not an integer"));
        }
        absl::StatusOr<double> bias = JsonBias(pair[1]);
        if (!bias.ok()) {
          return Error(
              element, key,
              absl::StrCat("entry #", i, ": ", bias.status().message()));
        }
        biases.emplace_back(*id, *bias);
      }
      return ParamValue(std::move(biases));
    }
    IdList ids;
    ids.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      absl::StatusOr<int64_t> id = JsonInt(v[i]);
      if (!id.ok()) {
        return Error(element, key,
                     absl::StrCat("entry #", i, " is not an integer token id"));
      }
      ids.push_back(*id);
    }
    return ParamValue(std::move(ids));
  }
  return Error(element, key,
               absl::StrCat("unsupported value of type ", v.type_name()));
}

}  // namespace

absl::StatusOr<ChainSpec> ChainSpecFromJson(const Json& value) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain JSON must be an array of stage objects, not ",
                     value.type_name()));
  }
  ChainSpec spec;
  for (size_t i = 0; i < value.size(); ++i) {
    const Json& element = value[i];
    if (!element.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("chain JSON element #", i,
                                                     " must be an object, not ",
                                                     element.type_name()));
    }
    auto stage = element.find("stage");
    if (stage == element.end() || !stage->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("chain JSON element #", i, " needs a string \"stage\""));
    }
    StageSpec stage_spec;
    stage_spec.stage = stage->get<std::string>();
    for (auto it = element.begin(); it != element.end(); ++it) {
      if (it.key() == "stage") continue;
      absl::StatusOr<ParamValue> param = ParseValue(i, it.key(), it.value());
      if (!param.ok()) return param.status();
      stage_spec.params[it.key()] = *std::move(param);
    }
    spec.push_back(std::move(stage_spec));
  }
  return spec;
}

absl::StatusOr<ChainSpec> ParseChainJson(absl::string_view text) {
  if (text.size() > kMaxChainJsonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain JSON is ", text.size(), " bytes; the limit is ",
                     kMaxChainJsonBytes));
  }
  if (const int depth = JsonNestingDepth(text); depth > kMaxChainJsonDepth) {
    return absl::InvalidArgumentError(absl::StrCat("chain JSON nests ", depth,
                                                   " levels; the limit is ",
                                                   kMaxChainJsonDepth));
  }
  Json value;
  try {
    value = Json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain JSON does not parse: ", e.what()));
  }
  return ChainSpecFromJson(value);
}

Json ChainSpecToJson(const ChainSpec& spec) {
  Json array = Json::array();
  for (const StageSpec& stage : spec) {
    Json object = Json::object();
    object["stage"] = stage.stage;
    for (const auto& [key, value] : stage.params) {
      struct Visitor {
        Json operator()(bool v) const { return v; }
        Json operator()(int64_t v) const { return v; }
        Json operator()(double v) const {
          if (std::isnan(v)) return nullptr;
          if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
          return v;
        }
        Json operator()(const IdList& v) const { return v; }
        Json operator()(const std::string& v) const { return v; }
        Json operator()(const StringList& v) const { return v; }
        Json operator()(const IdBiasList& v) const {
          Json map = Json::object();
          for (const auto& [id, bias] : v) {
            map[absl::StrCat(id)] = (*this)(bias);
          }
          return map;
        }
      };
      object[key] = std::visit(Visitor{}, value);
    }
    array.push_back(std::move(object));
  }
  return array;
}

std::string ChainToJson(const ChainSpec& spec) {
  // Strings we emit are stage and parameter names from the caller; replace
  // invalid UTF-8 rather than throw.
  return ChainSpecToJson(spec).dump(-1, ' ', false,
                                    Json::error_handler_t::replace);
}

}  // namespace fm::sampler
