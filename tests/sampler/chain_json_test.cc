// Chain JSON: the documented forms parse, serialisation round-trips, and
// every malformed input is an INVALID_ARGUMENT naming where it went wrong.
#include "services/sampler/chain_json.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "services/sampler/sampler_chain.h"

namespace fm::sampler {
namespace {

TEST_CASE("the issues example parses and builds") {
  auto spec = ParseChainJson(
      R"([{"stage":"top_k","k":40},{"stage":"temperature","temperature":0.8},)"
      R"({"stage":"dist"}])");
  REQUIRE(spec.ok());
  REQUIRE(spec->size() == 3);
  CHECK((*spec)[0].stage == "top_k");
  CHECK(std::get<int64_t>((*spec)[0].params.at("k")) == 40);
  CHECK(std::get<double>((*spec)[1].params.at("temperature")) == 0.8);
  CHECK((*spec)[2].params.empty());
  CHECK(BuildChain(*spec).ok());
}

TEST_CASE("bias maps and id lists and bans in every accepted form") {
  auto spec = ParseChainJson(R"([
      {"stage":"logit_bias","bias":{"15":-1.5,"16":"-inf","17":false}},
      {"stage":"logit_bias","bias":[[20,2],[21,false],[22,"-inf"]]},
      {"stage":"ban","ids":[1,2,3]},
      {"stage":"allow","ids":[]},
      {"stage":"logit_bias","bias":[]},
      {"stage":"greedy"}])");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  const auto& b0 = std::get<IdBiasList>((*spec)[0].params.at("bias"));
  REQUIRE(b0.size() == 3);
  CHECK(b0[0] == std::make_pair(int64_t{15}, -1.5));
  CHECK(std::isinf(b0[1].second));
  CHECK(std::isinf(b0[2].second));
  const auto& b1 = std::get<IdBiasList>((*spec)[1].params.at("bias"));
  CHECK(b1[0] == std::make_pair(int64_t{20}, 2.0));
  CHECK(std::isinf(b1[1].second));
  CHECK(std::get<IdList>((*spec)[2].params.at("ids")) == IdList{1, 2, 3});
  auto chain = BuildChain(*spec);
  INFO(chain.status().ToString());
  CHECK(chain.ok());
}

TEST_CASE("serialisation round-trips") {
  ChainSpec spec = DefaultChainSpec();
  spec.insert(
      spec.begin(),
      {"logit_bias",
       {{"bias", IdBiasList{{5, 1.25},
                            {6, -std::numeric_limits<double>::infinity()}}}}});
  spec.insert(spec.begin(), {"ban", {{"ids", IdList{7, 8}}}});
  const std::string json = ChainToJson(spec);
  auto back = ParseChainJson(json);
  REQUIRE(back.ok());
  CHECK(ChainToJson(*back) == json);
  REQUIRE(back->size() == spec.size());
  for (size_t i = 0; i < spec.size(); ++i) {
    CHECK((*back)[i].stage == spec[i].stage);
    CHECK((*back)[i].params == spec[i].params);
  }
}

void ExpectParseError(const std::string& json,
                      std::vector<std::string> fragments) {
  auto spec = ParseChainJson(json);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string message(spec.status().message());
  CAPTURE(json, message);
  for (const auto& f : fragments) CHECK(absl::StrContains(message, f));
}

TEST_CASE("malformed chain JSON is INVALID_ARGUMENT with a location") {
  ExpectParseError("", {"does not parse"});
  ExpectParseError("[{\"stage\":\"top_k\",", {"does not parse"});
  ExpectParseError("{\"stage\":\"dist\"}", {"must be an array"});
  ExpectParseError("[1]", {"element #0", "object"});
  ExpectParseError("[{\"k\":3}]", {"element #0", "stage"});
  ExpectParseError("[{\"stage\":5}]", {"element #0", "stage"});
  ExpectParseError("[{\"stage\":\"top_k\",\"k\":null}]", {"'k'", "null"});
  ExpectParseError("[{\"stage\":\"ban\",\"ids\":[1,\"x\"]}]",
                   {"'ids'", "entry #1"});
  ExpectParseError("[{\"stage\":\"logit_bias\",\"bias\":{\"abc\":1}}]",
                   {"'bias'", "abc"});
  ExpectParseError("[{\"stage\":\"logit_bias\",\"bias\":{\"5\":\"big\"}}]",
                   {"'bias'", "id 5"});
  ExpectParseError("[{\"stage\":\"logit_bias\",\"bias\":[[1,2,3]]}]",
                   {"'bias'", "entry #0"});
  ExpectParseError("[{\"stage\":\"top_k\",\"k\":18446744073709551615}]",
                   {"'k'", "too large"});
  ExpectParseError(std::string(100, '[') + std::string(100, ']'),
                   {"nests", "limit"});
  ExpectParseError("[{\"stage\":\"\xff\xfe\"}]", {"does not parse"});
}

TEST_CASE("parse succeeds but validation fails for unknown names") {
  auto spec = ParseChainJson(R"([{"stage":"top_q"},{"stage":"dist"}])");
  REQUIRE(spec.ok());
  CHECK(BuildChain(*spec).status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fm::sampler
