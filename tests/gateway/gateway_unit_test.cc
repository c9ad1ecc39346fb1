// Gateway pieces in isolation: stop-string hold-back, shorthand -> chain,
// and the response cache.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/chain_proto_json.h"
#include "services/gateway/response_cache.h"
#include "services/gateway/sampling_builder.h"
#include "services/gateway/stage_catalog.h"
#include "services/gateway/stop_matcher.h"

namespace fm::gateway {
namespace {

// Feeds `pieces` one by one; returns everything emitted (plus the flush).
std::string Run(StopMatcher& m, const std::vector<std::string>& pieces,
                bool* stopped = nullptr) {
  std::string out;
  for (const std::string& p : pieces) {
    auto r = m.Feed(p);
    out += r.emit;
    if (r.stopped) {
      if (stopped != nullptr) *stopped = true;
      return out;
    }
  }
  return out + m.Flush();
}

TEST_CASE("a stop string split across pieces is cut exactly", "[stop]") {
  StopMatcher m({"named Lily"}, false);
  bool stopped = false;
  CHECK(Run(m, {"a girl ", "nam", "ed L", "ily. She"}, &stopped) == "a girl ");
  CHECK(stopped);
}

TEST_CASE("the stop string can be kept", "[stop]") {
  StopMatcher m({"END"}, true);
  CHECK(Run(m, {"abc E", "N", "D tail"}) == "abc END");
}

TEST_CASE("held-back text is released when it is not a stop", "[stop]") {
  StopMatcher m({"named Bob"}, false);
  auto r1 = m.Feed("a girl nam");
  CHECK(r1.emit == "a girl ");  // "nam" might start the stop string
  auto r2 = m.Feed("ed Lily");
  CHECK(r2.emit == "named Lily");
  CHECK(m.Flush().empty());
  StopMatcher tail({"xyz"}, false);
  CHECK(tail.Feed("abcx").emit == "abc");
  CHECK(tail.Flush() == "x");  // end of generation releases it
}

TEST_CASE("the earliest of several stop strings wins", "[stop]") {
  StopMatcher m({"world", "lo w"}, false);
  auto r = m.Feed("hello world");
  CHECK(r.stopped);
  CHECK(r.stop_string == "lo w");
  CHECK(r.emit == "hel");
}

TEST_CASE("no stop strings: everything passes through", "[stop]") {
  StopMatcher m({}, false);
  CHECK(m.Feed("abc").emit == "abc");
}

TEST_CASE("shorthands build llama.cpp-ordered chains", "[sampling]") {
  fm::v1::GenerateRequest r;
  auto spec = BuildSamplingSpec(r);
  REQUIRE(spec.ok());
  CHECK(spec->profile() == "default");

  r.mutable_shorthand()->set_temperature(0.7f);
  r.mutable_shorthand()->set_top_k(10);
  r.mutable_shorthand()->set_repetition_penalty(1.1f);
  spec = BuildSamplingSpec(r);
  REQUIRE(spec.ok());
  std::vector<std::string> names;
  for (const auto& s : spec->chain().stages()) names.push_back(s.stage());
  CHECK(names == std::vector<std::string>{"repetition_penalty", "top_k",
                                          "top_p", "min_p", "temperature",
                                          "dist"});

  r.mutable_shorthand()->set_temperature(0);
  spec = BuildSamplingSpec(r);
  REQUIRE(spec.ok());
  CHECK(spec->chain().stages(spec->chain().stages_size() - 1).stage() ==
        "greedy");
}

TEST_CASE("logit_bias goes first, in id order, and is range-checked",
          "[sampling]") {
  fm::v1::GenerateRequest r;
  (*r.mutable_shorthand()->mutable_logit_bias())[7] = -100;
  (*r.mutable_shorthand()->mutable_logit_bias())[3] = 2.5f;
  r.mutable_shorthand()->set_temperature(0);
  auto spec = BuildSamplingSpec(r);
  REQUIRE(spec.ok());
  REQUIRE(spec->chain().stages_size() == 2);
  CHECK(spec->chain().stages(0).stage() == "logit_bias");
  CHECK(spec->chain().stages(1).stage() == "greedy");
  // The pairs, in id order (Struct's map order is not defined: compare
  // the list itself).
  const auto& bias =
      spec->chain().stages(0).params().fields().at("bias").list_value();
  REQUIRE(bias.values_size() == 2);
  CHECK(bias.values(0).list_value().values(0).number_value() == 3);
  CHECK(bias.values(0).list_value().values(1).number_value() == 2.5);
  CHECK(bias.values(1).list_value().values(0).number_value() == 7);
  CHECK(bias.values(1).list_value().values(1).number_value() == -100);

  // logit_bias alone also builds a chain (with the other defaults).
  r.mutable_shorthand()->clear_temperature();
  spec = BuildSamplingSpec(r);
  REQUIRE(spec.ok());
  CHECK(spec->chain().stages(0).stage() == "logit_bias");
  CHECK(spec->chain().stages(spec->chain().stages_size() - 1).stage() ==
        "dist");

  (*r.mutable_shorthand()->mutable_logit_bias())[5] = 101;
  spec = BuildSamplingSpec(r);
  REQUIRE_FALSE(spec.ok());
  CHECK_THAT(std::string(spec.status().message()),
             Catch::Contains("shorthand.logit_bias[5] = 101") &&
                 Catch::Contains("[-100, 100]"));
  r.mutable_shorthand()->mutable_logit_bias()->erase(5);
  (*r.mutable_shorthand()->mutable_logit_bias())[-2] = 1;
  spec = BuildSamplingSpec(r);
  REQUIRE_FALSE(spec.ok());
  CHECK_THAT(std::string(spec.status().message()), Catch::Contains("-2"));
}

TEST_CASE("out-of-range shorthands name the field and range", "[sampling]") {
  struct Case {
    const char* field;
    std::function<void(fm::v1::SamplingShorthand*)> set;
  };
  for (const Case& c : std::vector<Case>{
           {"temperature", [](auto* s) { s->set_temperature(2.5f); }},
           {"temperature", [](auto* s) { s->set_temperature(NAN); }},
           {"top_p", [](auto* s) { s->set_top_p(0.0f); }},
           {"min_p", [](auto* s) { s->set_min_p(-0.1f); }},
           {"top_k", [](auto* s) { s->set_top_k(-1); }},
           {"repetition_penalty",
            [](auto* s) { s->set_repetition_penalty(0.0f); }},
           {"presence_penalty", [](auto* s) { s->set_presence_penalty(3.0f); }},
       }) {
    fm::v1::GenerateRequest r;
    c.set(r.mutable_shorthand());
    auto spec = BuildSamplingSpec(r);
    INFO(c.field);
    REQUIRE_FALSE(spec.ok());
    CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(spec.status().message()), Catch::Contains(c.field));
  }
}

TEST_CASE("an inline chain is used as given", "[sampling]") {
  fm::v1::GenerateRequest r;
  auto chain = ChainFromJson(R"([{"stage":"top_k","k":3},{"stage":"dist"}])");
  REQUIRE(chain.ok());
  *r.mutable_sampling()->mutable_chain() = *chain;
  r.mutable_shorthand()->set_temperature(0);  // ignored: the chain wins
  auto spec = BuildSamplingSpec(r);
  REQUIRE(spec.ok());
  CHECK(spec->chain().stages_size() == 2);
}

TEST_CASE("the response cache is a bounded LRU", "[cache]") {
  ResponseCache cache(2);
  auto one = [](const std::string& text) {
    CachedResponses r(1);
    r[0].set_text(text);
    return r;
  };
  CHECK(cache.Get("a") == nullptr);
  cache.Put("a", one("A"));
  cache.Put("b", one("B"));
  REQUIRE(cache.Get("a") != nullptr);  // a is now the most recent
  cache.Put("c", one("C"));            // evicts b
  CHECK(cache.Get("b") == nullptr);
  REQUIRE(cache.Get("a") != nullptr);
  CHECK((*cache.Get("c"))[0].text() == "C");
  CHECK(cache.entries() == 2);
  CHECK(cache.hits() == 3);
  CHECK(cache.misses() == 2);
  ResponseCache off(0);
  off.Put("a", one("A"));
  CHECK(off.Get("a") == nullptr);
}

}  // namespace
}  // namespace fm::gateway

namespace fm::gateway {
namespace {

// A catalog as a sampler declares it in ListStages.
StageCatalog TestCatalog() {
  fm::v1::ListStagesResponse stages;
  auto add = [&](const char* name) {
    fm::v1::StageInfo* s = stages.add_stages();
    s->set_name(name);
    return s;
  };
  add("greedy")->set_selects_top(true);
  add("top_k")->set_keeps_top_param("k");
  add("dist")->set_draws_random(true);
  add("xtc")->set_draws_random(true);
  for (const char* name : {"top_p", "temperature", "repetition_penalty"}) {
    add(name);
  }
  add("regex")->set_reports_allowed(true);
  return StageCatalog(stages);
}

fm::v1::SamplerChain Chain(const char* json) {
  auto c = ChainFromJson(json);
  REQUIRE(c.ok());
  return *c;
}

TEST_CASE("determinism comes from the sampler's declarations", "[sampling]") {
  const StageCatalog catalog = TestCatalog();
  CHECK(catalog.ChainIsDeterministic(
      Chain(R"([{"stage":"top_k","k":5},{"stage":"greedy"}])")));
  CHECK_FALSE(catalog.ChainIsDeterministic(
      Chain(R"([{"stage":"top_k","k":5},{"stage":"dist"}])")));
  CHECK_FALSE(catalog.ChainIsDeterministic(
      Chain(R"([{"stage":"xtc"},{"stage":"greedy"}])")));
  // A stage the sampler did not list is treated as random.
  CHECK_FALSE(catalog.ChainIsDeterministic(
      Chain(R"([{"stage":"new_stage"},{"stage":"greedy"}])")));
}

TEST_CASE("SufficientTopK sends only the head a chain can use", "[sampling]") {
  const StageCatalog catalog = TestCatalog();
  CHECK(catalog.SufficientTopK(Chain(R"([{"stage":"greedy"}])"), false) == 1);
  CHECK(catalog.SufficientTopK(
            Chain(R"([{"stage":"top_k","k":40},{"stage":"dist"}])"), false) ==
        40);
  // Penalties (or anything) before top_k need every logit.
  CHECK(catalog.SufficientTopK(
            Chain(R"([{"stage":"repetition_penalty","penalty":1.1},)"
                  R"({"stage":"top_k","k":40},{"stage":"dist"}])"),
            false) == 0);
  CHECK(catalog.SufficientTopK(
            Chain(R"([{"stage":"top_p","p":0.9},{"stage":"dist"}])"), false) ==
        0);
  CHECK(catalog.SufficientTopK(
            Chain(R"([{"stage":"top_k","k":0},{"stage":"dist"}])"), false) ==
        0);
  // top_k's default k is the sampler's business: send everything.
  CHECK(catalog.SufficientTopK(Chain(R"([{"stage":"top_k"},{"stage":"dist"}])"),
                               false) == 0);
  CHECK(catalog.SufficientTopK(
            Chain(R"([{"stage":"new_stage"},{"stage":"greedy"}])"), false) ==
        0);
  // Raw logprobs, traces and shadows need the whole distribution.
  CHECK(catalog.SufficientTopK(Chain(R"([{"stage":"greedy"}])"), true) == 0);
}

TEST_CASE("after a constraint, the head the rest needs, among its ids",
          "[sampling]") {
  const StageCatalog catalog = TestCatalog();
  auto head = [&](const char* json, bool full = false) {
    return catalog.SufficientHead(Chain(json), full);
  };
  const char* regex = R"({"stage":"regex","pattern":"[a-z]+"})";
  auto among = [&](const char* rest) {
    return absl::StrCat("[", regex, ",", rest, "]");
  };
  StageCatalog::LogitsHead h = head(among(R"({"stage":"greedy"})").c_str());
  CHECK(h.top_k == 1);
  CHECK(h.among_allowed);
  h = head(among(R"({"stage":"top_k","k":40},{"stage":"dist"})").c_str());
  CHECK(h.top_k == 40);
  CHECK(h.among_allowed);
  // A rest that needs every logit, or a full distribution asked for: dense.
  h = head(among(R"({"stage":"temperature","temperature":0.5},)"
                 R"({"stage":"dist"})")
               .c_str());
  CHECK(h.top_k == 0);
  CHECK_FALSE(h.among_allowed);
  h = head(among(R"({"stage":"greedy"})").c_str(), true);
  CHECK(h.top_k == 0);
  CHECK_FALSE(h.among_allowed);
  // A constraint alone selects nothing; one not first restricts nothing
  // the head could use; other chains are as SufficientTopK says.
  h = head((std::string("[") + regex + "]").c_str());
  CHECK(h.top_k == 0);
  h = head(R"([{"stage":"top_k","k":40},{"stage":"regex","pattern":"a"},)"
           R"({"stage":"dist"}])");
  CHECK(h.top_k == 40);
  CHECK_FALSE(h.among_allowed);
  h = head(R"([{"stage":"greedy"}])");
  CHECK(h.top_k == 1);
  CHECK_FALSE(h.among_allowed);
}

}  // namespace
}  // namespace fm::gateway
