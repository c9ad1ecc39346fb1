// Randomised robustness: random chains (valid or not) on random logits with
// extreme values never crash, and every outcome is OK or a clear status.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "services/sampler/chain_json.h"
#include "services/sampler/sampler_chain.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

ParamValue RandomValue(const ParamInfo& info, std::mt19937& gen) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const bool wild = unit(gen) < 0.1;  // Sometimes out of range or mistyped.
  switch (info.type) {
    case ParamType::kFloat: {
      if (wild) return ParamValue(unit(gen) < 0.5 ? -1e9 : 1e9);
      const double hi = std::min(info.max, 50.0);
      return ParamValue(info.min + (hi - info.min) * unit(gen));
    }
    case ParamType::kInt: {
      if (wild) return ParamValue(2.5);
      const double hi = std::min(info.max, 300.0);
      return ParamValue(
          static_cast<int64_t>(info.min + (hi - info.min) * unit(gen)));
    }
    case ParamType::kBool:
      return ParamValue(unit(gen) < 0.5);
    case ParamType::kIdList: {
      IdList ids;
      const int n = static_cast<int>(unit(gen) * 6);
      for (int i = 0; i < n; ++i)
        ids.push_back(static_cast<int64_t>(unit(gen) * 400));
      if (wild) ids.push_back(-5);
      return ParamValue(ids);
    }
    case ParamType::kIdBiasMap: {
      IdBiasList biases;
      const int n = static_cast<int>(unit(gen) * 6);
      for (int i = 0; i < n; ++i) {
        const double bias = unit(gen) < 0.3
                                ? -std::numeric_limits<double>::infinity()
                                : unit(gen) * 40 - 20;
        biases.emplace_back(static_cast<int64_t>(unit(gen) * 400), bias);
      }
      if (wild) biases.emplace_back(1, 1e6);
      return ParamValue(biases);
    }
    case ParamType::kString: {
      // Regexes, some malformed.
      static const char* const kTexts[] = {"a+", "(yes|no)", "[", "\\d{2,3}",
                                           "(a", "x*y?",     ""};
      return ParamValue(std::string(kTexts[static_cast<int>(unit(gen) * 7)]));
    }
    case ParamType::kStringList: {
      StringList list;
      const int n = static_cast<int>(unit(gen) * 4);
      for (int i = 0; i < n; ++i) list.push_back(i % 2 ? "yes" : "\xC3");
      return ParamValue(list);
    }
  }
  return ParamValue(false);
}

TEST_CASE("random chains on extreme logits never crash") {
  std::mt19937 gen(20241129);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto& stages = AllStages();
  int built = 0;
  int sampled = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    ChainSpec spec;
    const int length = 1 + static_cast<int>(unit(gen) * 6);
    for (int i = 0; i < length; ++i) {
      const StageInfo& info =
          stages[static_cast<size_t>(unit(gen) * stages.size())];
      StageSpec stage{info.name, {}};
      for (const ParamInfo& p : info.params) {
        if (unit(gen) < 0.6) stage.params[p.name] = RandomValue(p, gen);
      }
      spec.push_back(std::move(stage));
    }
    // Mostly end with a selector so that most chains get to sample.
    if (unit(gen) < 0.8) {
      static const char* const kSelectors[] = {"greedy", "dist", "dist",
                                               "mirostat_v2"};
      spec.back() = {kSelectors[static_cast<int>(unit(gen) * 4)], {}};
    }
    // JSON round trip of whatever was generated must not throw or crash.
    auto reparsed = ParseChainJson(ChainToJson(spec));
    REQUIRE(reparsed.ok());
    auto chain = BuildChain(spec);
    if (!chain.ok()) {
      const auto code = chain.status().code();
      CHECK((code == absl::StatusCode::kInvalidArgument ||
             code == absl::StatusCode::kNotFound));
      continue;
    }
    ++built;
    const int vocab = 1 + static_cast<int>(unit(gen) * 300);
    std::vector<float> logits(vocab);
    const double scale = unit(gen) < 0.2 ? 3e38 : 10.0;
    for (float& v : logits) {
      v = static_cast<float>((unit(gen) * 2 - 1) * scale);
    }
    if (unit(gen) < 0.05) {
      logits[vocab / 2] = std::numeric_limits<float>::quiet_NaN();
    }
    for (TokenId t = 0; t < 20; ++t) (*chain)->Accept(t % 7);
    for (uint64_t step = 0; step < 3; ++step) {
      SamplingContext ctx{Rng(iteration, 0, step)};
      SampleOptions options;
      options.top_n = static_cast<int32_t>(unit(gen) * 10);
      options.trace = unit(gen) < 0.3;
      options.logprob_mode =
          unit(gen) < 0.5 ? LogprobMode::kRaw : LogprobMode::kProcessed;
      auto result = (*chain)->Sample(logits, ctx, options);
      if (!result.ok()) {
        CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++sampled;
      REQUIRE(result->token >= 0);
      REQUIRE(result->token < vocab);
      CHECK_FALSE(std::isnan(result->logprob));
      CHECK(result->logprob <= 1e-3f);
      for (const TokenLogprob& t : result->top) {
        CHECK(t.id >= 0);
        CHECK(t.id < vocab);
        CHECK_FALSE(std::isnan(t.logprob));
      }
    }
  }
  CHECK(built > 500);
  CHECK(sampled > 1000);
}

}  // namespace
}  // namespace fm::sampler
