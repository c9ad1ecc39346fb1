// Every sampler stage on hand-computed 4-6 token vectors, in the style of
// llama.cpp's tests/test-sampling.cpp (probabilities in, expected out).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

constexpr double kTolerance = 1e-5;

std::unique_ptr<SamplerStage> MakeStage(const StageSpec& spec) {
  absl::StatusOr<std::unique_ptr<SamplerStage>> stage = BuildStage(spec);
  INFO(stage.status().ToString());
  REQUIRE(stage.ok());
  return *std::move(stage);
}

TokenCandidates FromLogits(const std::vector<float>& logits) {
  TokenCandidates c;
  for (size_t i = 0; i < logits.size(); ++i) {
    c.data.push_back({static_cast<TokenId>(i), logits[i], 0.0f});
  }
  c.dense = true;
  return c;
}

TokenCandidates FromProbs(const std::vector<float>& probs) {
  std::vector<float> logits;
  for (float p : probs) logits.push_back(std::log(p));
  return FromLogits(logits);
}

// Applies one stage (after replaying `history`) and returns id -> prob over
// the candidates left; ids removed are absent, banned ones have prob 0.
std::map<TokenId, double> RunProbs(const StageSpec& spec,
                                   TokenCandidates candidates,
                                   const std::vector<TokenId>& history = {}) {
  auto stage = MakeStage(spec);
  for (TokenId t : history) stage->Accept(t);
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(candidates, ctx);
  Softmax(candidates);
  std::map<TokenId, double> out;
  for (const TokenData& d : candidates.data) out[d.id] = d.prob;
  return out;
}

std::map<TokenId, float> RunLogits(const StageSpec& spec,
                                   TokenCandidates candidates,
                                   const std::vector<TokenId>& history = {}) {
  auto stage = MakeStage(spec);
  for (TokenId t : history) stage->Accept(t);
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(candidates, ctx);
  std::map<TokenId, float> out;
  for (const TokenData& d : candidates.data) out[d.id] = d.logit;
  return out;
}

template <typename T>
void ExpectMap(const std::map<TokenId, T>& actual,
               const std::map<TokenId, double>& expected) {
  CAPTURE(actual.size(), expected.size());
  REQUIRE(actual.size() == expected.size());
  for (const auto& [id, value] : expected) {
    CAPTURE(id, value);
    REQUIRE(actual.count(id) == 1);
    if (std::isinf(value)) {
      CHECK(static_cast<double>(actual.at(id)) == value);
    } else {
      CHECK(static_cast<double>(actual.at(id)) ==
            Approx(value).margin(kTolerance));
    }
  }
}

const double kInf = std::numeric_limits<double>::infinity();

TEST_CASE("greedy picks the highest logit and lowest id on ties") {
  auto stage = MakeStage({"greedy", {}});
  TokenCandidates c = FromLogits({0.1f, 0.9f, 0.9f, 0.2f});
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(c, ctx);
  REQUIRE(c.selected == 1);
  CHECK(stage->IsSelector());

  TokenCandidates banned = FromLogits({kNegInf, kNegInf});
  stage->Apply(banned, ctx);
  CHECK(banned.selected == -1);
}

TEST_CASE("dist never picks a banned token") {
  auto stage = MakeStage({"dist", {}});
  for (uint64_t step = 0; step < 200; ++step) {
    TokenCandidates c = FromLogits({kNegInf, 0.0f, kNegInf});
    SamplingContext ctx{Rng(7, 0, step)};
    stage->Apply(c, ctx);
    REQUIRE(c.selected == 1);
  }
}

TEST_CASE("temperature scales logits - 0 keeps only the top") {
  ExpectMap(RunLogits({"temperature", {{"temperature", 0.5}}},
                      FromLogits({0.0f, 1.0f, 2.0f, -1.0f})),
            {{0, 0.0}, {1, 2.0}, {2, 4.0}, {3, -2.0}});
  ExpectMap(RunLogits({"temperature", {{"temperature", 2.0}}},
                      FromLogits({0.0f, 1.0f, 2.0f, -1.0f})),
            {{0, 0.0}, {1, 0.5}, {2, 1.0}, {3, -0.5}});
  ExpectMap(RunProbs({"temperature", {{"temperature", 0.0}}},
                     FromProbs({0.1f, 0.2f, 0.3f, 0.4f})),
            {{3, 1.0}});
  // A tiny temperature never turns a finite logit into inf or NaN.
  auto huge = RunLogits({"temperature", {{"temperature", 1e-6}}},
                        FromLogits({3e38f, -3e38f, kNegInf}));
  CHECK(std::isfinite(huge[0]));
  CHECK(std::isfinite(huge[1]));
  CHECK(huge[2] == kNegInf);
}

TEST_CASE("top_k keeps the k most likely") {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
  ExpectMap(RunProbs({"top_k", {{"k", int64_t{1}}}}, FromProbs(p)), {{3, 1.0}});
  ExpectMap(RunProbs({"top_k", {{"k", int64_t{3}}}}, FromProbs(p)),
            {{3, 0.4 / 0.9}, {2, 0.3 / 0.9}, {1, 0.2 / 0.9}});
  ExpectMap(RunProbs({"top_k", {{"k", int64_t{4}}}}, FromProbs(p)),
            {{3, 0.4}, {2, 0.3}, {1, 0.2}, {0, 0.1}});
  ExpectMap(RunProbs({"top_k", {{"k", int64_t{0}}}}, FromProbs(p)),
            {{3, 0.4}, {2, 0.3}, {1, 0.2}, {0, 0.1}});
}

TEST_CASE("top_k result is sorted and highest first") {
  auto stage = MakeStage({"top_k", {{"k", int64_t{3}}}});
  TokenCandidates c = FromLogits({0.5f, 3.0f, -1.0f, 2.0f, 1.0f, 2.5f});
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(c, ctx);
  REQUIRE(c.size() == 3);
  CHECK(c.sorted);
  CHECK_FALSE(c.dense);
  CHECK(c.data[0].id == 1);
  CHECK(c.data[1].id == 5);
  CHECK(c.data[2].id == 3);
}

TEST_CASE("top_p keeps the smallest set reaching p") {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
  ExpectMap(RunProbs({"top_p", {{"p", 0.35}}}, FromProbs(p)), {{3, 1.0}});
  ExpectMap(RunProbs({"top_p", {{"p", 0.65}}}, FromProbs(p)),
            {{3, 0.4 / 0.7}, {2, 0.3 / 0.7}});
  ExpectMap(RunProbs({"top_p", {{"p", 0.75}}}, FromProbs(p)),
            {{3, 0.4 / 0.9}, {2, 0.3 / 0.9}, {1, 0.2 / 0.9}});
  ExpectMap(RunProbs({"top_p", {{"p", 1.0}}}, FromProbs(p)),
            {{3, 0.4}, {2, 0.3}, {1, 0.2}, {0, 0.1}});
  ExpectMap(RunProbs({"top_p", {{"p", 0.35}, {"min_keep", int64_t{2}}}},
                     FromProbs(p)),
            {{3, 0.4 / 0.7}, {2, 0.3 / 0.7}});
}

TEST_CASE("top_p on a large unsorted set grows its head correctly") {
  // 1000 tokens: 10 heavy ones and 990 light ones; p needs some light ones.
  std::vector<float> probs(1000, 0.5f / 990);
  for (int i = 0; i < 10; ++i) probs[i * 97] = 0.05f;
  auto out = RunProbs({"top_p", {{"p", 0.6}}}, FromProbs(probs));
  // 10 * 0.05 = 0.5, then 0.1 more needs ceil(0.1 / (0.5/990)) = 198 light.
  CHECK(out.size() == 10 + 198);
}

TEST_CASE("min_p keeps tokens with p >= min_p times p_max") {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
  ExpectMap(RunProbs({"min_p", {{"p", 0.0}}}, FromProbs(p)),
            {{3, 0.4}, {2, 0.3}, {1, 0.2}, {0, 0.1}});
  ExpectMap(RunProbs({"min_p", {{"p", 0.24}}}, FromProbs(p)),
            {{3, 0.4}, {2, 0.3}, {1, 0.2}, {0, 0.1}});
  ExpectMap(RunProbs({"min_p", {{"p", 0.26}}}, FromProbs(p)),
            {{3, 0.4 / 0.9}, {2, 0.3 / 0.9}, {1, 0.2 / 0.9}});
  ExpectMap(RunProbs({"min_p", {{"p", 0.74}}}, FromProbs(p)),
            {{3, 0.4 / 0.7}, {2, 0.3 / 0.7}});
  ExpectMap(RunProbs({"min_p", {{"p", 0.76}}}, FromProbs(p)), {{3, 1.0}});
  ExpectMap(
      RunProbs({"min_p", {{"p", 1.0}, {"min_keep", int64_t{2}}}}, FromProbs(p)),
      {{3, 0.4 / 0.7}, {2, 0.3 / 0.7}});
}

TEST_CASE("typical_p keeps the tokens closest to the entropy") {
  ExpectMap(RunProbs({"typical_p", {{"p", 0.5}}},
                     FromProbs({0.97f, 0.01f, 0.01f, 0.01f})),
            {{0, 1.0}});
  // H = 1.332 nats; |surprise - H| is 0.277 for 0.2 and 0.416 for 0.4.
  ExpectMap(RunProbs({"typical_p", {{"p", 0.5}}},
                     FromProbs({0.4f, 0.2f, 0.2f, 0.2f})),
            {{1, 1 / 3.0}, {2, 1 / 3.0}, {3, 1 / 3.0}});
  ExpectMap(RunProbs({"typical_p", {{"p", 1.0}}},
                     FromProbs({0.4f, 0.2f, 0.2f, 0.2f})),
            {{0, 0.4}, {1, 0.2}, {2, 0.2}, {3, 0.2}});
}

TEST_CASE("top_n_sigma keeps logits within n sigma of the max") {
  // Mean 2, sigma sqrt(2) = 1.414.
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
  ExpectMap(RunLogits({"top_n_sigma", {{"n", 1.0}}}, FromLogits(logits)),
            {{3, 3.0}, {4, 4.0}});
  ExpectMap(RunLogits({"top_n_sigma", {{"n", 2.0}}}, FromLogits(logits)),
            {{2, 2.0}, {3, 3.0}, {4, 4.0}});
  ExpectMap(RunLogits({"top_n_sigma", {{"n", 0.0}}}, FromLogits(logits)),
            {{4, 4.0}});
}

TEST_CASE("xtc drops the top choices but the least likely of them") {
  const std::vector<float> p = {0.4f, 0.3f, 0.2f, 0.1f};
  ExpectMap(RunProbs({"xtc", {{"probability", 1.0}, {"threshold", 0.25}}},
                     FromProbs(p)),
            {{1, 0.5}, {2, 1 / 3.0}, {3, 1 / 6.0}});
  // Only one token above the threshold: nothing happens.
  ExpectMap(RunProbs({"xtc", {{"probability", 1.0}, {"threshold", 0.35}}},
                     FromProbs(p)),
            {{0, 0.4}, {1, 0.3}, {2, 0.2}, {3, 0.1}});
  ExpectMap(RunProbs({"xtc", {{"probability", 0.0}, {"threshold", 0.25}}},
                     FromProbs(p)),
            {{0, 0.4}, {1, 0.3}, {2, 0.2}, {3, 0.1}});
  // min_keep would be violated: nothing happens.
  ExpectMap(RunProbs({"xtc",
                      {{"probability", 1.0},
                       {"threshold", 0.25},
                       {"min_keep", int64_t{4}}}},
                     FromProbs(p)),
            {{0, 0.4}, {1, 0.3}, {2, 0.2}, {3, 0.1}});
}

TEST_CASE("mirostat_v2 truncates by surprise and adapts mu") {
  // tau 0.5 -> mu 1 -> only p >= 0.5 survives at first. Each pick has
  // surprise 0 (it is alone), so mu grows by eta * tau = 0.05 per step and
  // token 1 (surprise log2(1/0.3) = 1.74) is admitted from step 15 on.
  auto stage = MakeStage({"mirostat_v2", {{"tau", 0.5}, {"eta", 0.1}}});
  CHECK(stage->IsSelector());
  std::map<TokenId, int> later;
  for (uint64_t step = 0; step < 100; ++step) {
    TokenCandidates c = FromProbs({0.6f, 0.3f, 0.1f});
    SamplingContext ctx{Rng(1, 0, step)};
    stage->Apply(c, ctx);
    REQUIRE(c.selected >= 0);
    if (step < 14) {
      CHECK(c.size() == 1);
      CHECK(c.data[c.selected].id == 0);
    } else {
      ++later[c.data[c.selected].id];
    }
  }
  CHECK(later[1] > 0);
  // Reset restores mu = 2 * tau.
  stage->Reset();
  TokenCandidates c = FromProbs({0.6f, 0.3f, 0.1f});
  SamplingContext ctx{Rng(1, 0, 0)};
  stage->Apply(c, ctx);
  CHECK(c.size() == 1);
  // A large tau keeps everything; draws cover several tokens.
  auto wide = MakeStage({"mirostat_v2", {{"tau", 10.0}, {"eta", 0.0}}});
  std::map<TokenId, int> seen;
  for (uint64_t step = 0; step < 200; ++step) {
    TokenCandidates c = FromProbs({0.5f, 0.3f, 0.2f});
    SamplingContext ctx{Rng(1, 0, step)};
    wide->Apply(c, ctx);
    REQUIRE(c.selected >= 0);
    ++seen[c.data[c.selected].id];
  }
  CHECK(seen.size() == 3);
}

TEST_CASE("repetition_penalty divides positive and multiplies negative") {
  const std::vector<float> logits = {1.0f, 1.0f, 1.0f, -1.0f, -1.0f};
  ExpectMap(RunLogits({"repetition_penalty", {{"penalty", 2.0}}},
                      FromLogits(logits), {1, 3, 1}),
            {{0, 1.0}, {1, 0.5}, {2, 1.0}, {3, -2.0}, {4, -1.0}});
  // Window of 2: token 1 (oldest) has left it.
  ExpectMap(RunLogits({"repetition_penalty",
                       {{"penalty", 2.0}, {"last_n", int64_t{2}}}},
                      FromLogits(logits), {1, 2, 3}),
            {{0, 1.0}, {1, 1.0}, {2, 0.5}, {3, -2.0}, {4, -1.0}});
  // llama.cpp's case: a huge penalty all but removes the repeated token.
  ExpectMap(RunProbs({"repetition_penalty", {{"penalty", 50.0}}},
                     FromProbs({0.2f, 0.2f, 0.2f, 0.2f, 0.2f}), {0}),
            {{0, 0.0}, {1, 0.25}, {2, 0.25}, {3, 0.25}, {4, 0.25}});
}

TEST_CASE("repetition_penalty on a reduced (non-dense) set") {
  auto stage = MakeStage({"repetition_penalty", {{"penalty", 2.0}}});
  stage->Accept(7);
  TokenCandidates c;
  c.data = {{7, 4.0f, 0.0f}, {3, 4.0f, 0.0f}};
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(c, ctx);
  CHECK(c.data[0].logit == 2.0f);
  CHECK(c.data[1].logit == 4.0f);
}

TEST_CASE("presence and frequency penalties") {
  const std::vector<float> zeros(5, 0.0f);
  ExpectMap(RunLogits({"presence_penalty", {{"penalty", 0.5}}},
                      FromLogits(zeros), {0, 0, 1}),
            {{0, -0.5}, {1, -0.5}, {2, 0.0}, {3, 0.0}, {4, 0.0}});
  ExpectMap(RunLogits({"frequency_penalty", {{"penalty", 0.5}}},
                      FromLogits(zeros), {0, 0, 1}),
            {{0, -1.0}, {1, -0.5}, {2, 0.0}, {3, 0.0}, {4, 0.0}});
  ExpectMap(RunLogits({"frequency_penalty",
                       {{"penalty", -1.0}, {"last_n", int64_t{1}}}},
                      FromLogits(zeros), {0, 0, 1}),
            {{0, 0.0}, {1, 1.0}, {2, 0.0}, {3, 0.0}, {4, 0.0}});
}

TEST_CASE("Reset forgets the history") {
  auto stage = MakeStage({"presence_penalty", {{"penalty", 1.0}}});
  stage->Accept(0);
  stage->Reset();
  TokenCandidates c = FromLogits({0.0f, 0.0f});
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(c, ctx);
  CHECK(c.data[0].logit == 0.0f);
}

TEST_CASE("dry penalises the token that would extend a repeat") {
  const std::vector<float> zeros(6, 0.0f);
  // History 5 1 2 3 1 2: "1 2" repeats, and 3 followed it before.
  ExpectMap(RunLogits({"dry", {{"multiplier", 0.8}, {"base", 1.75}}},
                      FromLogits(zeros), {5, 1, 2, 3, 1, 2}),
            {{0, 0.0}, {1, 0.0}, {2, 0.0}, {3, -0.8}, {4, 0.0}, {5, 0.0}});
  // Longer repeat "5 1 2" -> length 3: penalty 0.8 * 1.75.
  ExpectMap(
      RunLogits({"dry", {{"multiplier", 0.8}, {"base", 1.75}}},
                FromLogits(zeros), {5, 1, 2, 3, 5, 1, 2}),
      {{0, 0.0}, {1, 0.0}, {2, 0.0}, {3, -0.8 * 1.75}, {4, 0.0}, {5, 0.0}});
  // A breaker inside the repeat cuts it below allowed_length.
  ExpectMap(RunLogits({"dry", {{"multiplier", 0.8}, {"breakers", IdList{1}}}},
                      FromLogits(zeros), {5, 1, 2, 3, 1, 2}),
            {{0, 0.0}, {1, 0.0}, {2, 0.0}, {3, 0.0}, {4, 0.0}, {5, 0.0}});
}

TEST_CASE("logit_bias adds biases and -inf bans") {
  ExpectMap(RunLogits({"logit_bias",
                       {{"bias", IdBiasList{{3, 1.0}, {1, -kInf}, {99, 5.0}}}}},
                      FromLogits({0.0f, 0.0f, 0.0f, 0.0f})),
            {{0, 0.0}, {1, -kInf}, {2, 0.0}, {3, 1.0}});
  // Also on a reduced set.
  TokenCandidates c;
  c.data = {{3, 0.0f, 0.0f}, {1, 0.0f, 0.0f}};
  ExpectMap(
      RunLogits({"logit_bias", {{"bias", IdBiasList{{3, 1.0}, {1, -kInf}}}}},
                c),
      {{1, -kInf}, {3, 1.0}});
}

TEST_CASE("allow keeps only listed ids - ban removes listed ids") {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
  ExpectMap(RunProbs({"allow", {{"ids", IdList{1, 3, 42}}}}, FromProbs(p)),
            {{1, 0.2 / 0.6}, {3, 0.4 / 0.6}});
  ExpectMap(RunProbs({"allow", {{"ids", IdList{}}}}, FromProbs(p)),
            {{0, 0.1}, {1, 0.2}, {2, 0.3}, {3, 0.4}});
  ExpectMap(RunProbs({"ban", {{"ids", IdList{0, 2, 42}}}}, FromProbs(p)),
            {{0, 0.0}, {1, 0.2 / 0.6}, {2, 0.0}, {3, 0.4 / 0.6}});
  TokenCandidates reduced;
  reduced.data = {{3, 0.0f, 0.0f}, {1, 0.0f, 0.0f}};
  ExpectMap(RunProbs({"ban", {{"ids", IdList{3}}}}, reduced), {{1, 1.0}});
  ExpectMap(RunProbs({"allow", {{"ids", IdList{3}}}}, reduced), {{3, 1.0}});
}

TEST_CASE("Clone copies history and is independent") {
  auto stage = MakeStage({"frequency_penalty", {{"penalty", 1.0}}});
  stage->Accept(0);
  auto copy = stage->Clone();
  stage->Accept(0);
  auto original = RunLogits({"frequency_penalty", {{"penalty", 1.0}}},
                            FromLogits({0.0f, 0.0f}), {0, 0});
  TokenCandidates a = FromLogits({0.0f, 0.0f});
  TokenCandidates b = FromLogits({0.0f, 0.0f});
  SamplingContext ctx{Rng(0, 0, 0)};
  stage->Apply(a, ctx);
  copy->Apply(b, ctx);
  CHECK(a.data[0].logit == original[0]);
  CHECK(a.data[0].logit == -2.0f);
  CHECK(b.data[0].logit == -1.0f);
}

TEST_CASE("a string where a number is expected names the parameter") {
  auto stage = BuildStage({"top_k", {{"k", std::string("40")}}});
  REQUIRE_FALSE(stage.ok());
  CHECK(absl::IsInvalidArgument(stage.status()));
  CHECK_THAT(std::string(stage.status().message()),
             Catch::Contains("'k'") && Catch::Contains("must be an integer"));
}

TEST_CASE(
    "every stage's example builds, and required parameters are required") {
  for (const StageInfo& info : AllStages()) {
    CAPTURE(info.name);
    CHECK(BuildStage({info.name, info.example}).ok());
    for (const ParamInfo& p : info.params) {
      if (!p.required) continue;
      auto without = BuildStage({info.name, {}});
      REQUIRE_FALSE(without.ok());
      CHECK_THAT(std::string(without.status().message()),
                 Catch::Contains("needs parameter '" + p.name + "'"));
    }
  }
}

TEST_CASE("every stage tolerates an empty set and all -inf logits") {
  for (const StageInfo& info : AllStages()) {
    CAPTURE(info.name);
    auto stage = MakeStage({info.name, info.example});
    stage->Accept(0);
    stage->Accept(1);
    stage->Accept(0);
    stage->Accept(1);
    SamplingContext ctx{Rng(0, 0, 0)};
    TokenCandidates empty;
    stage->Apply(empty, ctx);
    TokenCandidates banned = FromLogits({kNegInf, kNegInf, kNegInf});
    stage->Apply(banned, ctx);
    if (info.kind == StageKind::kSelector) CHECK(banned.selected == -1);
    for (const TokenData& d : banned.data) CHECK_FALSE(std::isnan(d.logit));
  }
}

}  // namespace
}  // namespace fm::sampler

namespace fm::sampler {
namespace {

TEST_CASE("ApplyDense gives exactly what Apply gives") {
  std::vector<float> logits(1000);
  for (int i = 0; i < 1000; ++i) {
    logits[i] = static_cast<float>((i * 7919) % 1000) / 100.0f - 5.0f;
  }
  logits[17] = logits[18] = 9.5f;  // A tie at the top.
  const std::vector<TokenId> history = {3, 17, 3, 999, 18, 3, 17};
  const std::vector<StageSpec> specs = {
      {"repetition_penalty", {{"penalty", 1.3}}},
      {"presence_penalty", {{"penalty", 0.7}}},
      {"frequency_penalty", {{"penalty", 0.4}}},
      {"dry", {{"allowed_length", int64_t{1}}}},
      {"logit_bias", {{"bias", IdBiasList{{17, -2.0}, {5, -kInf}, {5000, 1}}}}},
      {"ban", {{"ids", IdList{18, 4, 100000}}}},
      {"allow", {{"ids", IdList{900, 17, 18, 2, 5000}}}},
      {"temperature", {{"temperature", 0.0}}},
      {"temperature", {{"temperature", 0.7}}},
      {"top_k", {{"k", int64_t{1}}}},
      {"top_k", {{"k", int64_t{40}}}},
      {"top_k", {{"k", int64_t{5000}}}},
      {"min_p", {{"p", 0.05}}},
      {"min_p", {{"p", 1.0}, {"min_keep", int64_t{3}}}},
      {"min_p", {{"p", 1e-9}}},
      {"top_p", {{"p", 0.5}}},
      {"top_p", {{"p", 0.95}, {"min_keep", int64_t{70}}}},
      {"top_p", {{"p", 0.9999}}},
      {"greedy", {}},
      {"dist", {}},
      {"mirostat_v2", {}},
  };
  for (const StageSpec& spec : specs) {
    CAPTURE(spec.stage);
    if (FindStage(spec.stage)->kind == StageKind::kSelector) {
      // Selectors pick the same token on either path, step after step.
      auto dense_stage = MakeStage(spec);
      auto plain_stage = MakeStage(spec);
      for (uint64_t step = 0; step < 300; ++step) {
        std::vector<float> work = logits;
        for (float& v : work) v *= 0.3f;  // Flatter: dist varies more.
        TokenCandidates dense_out;
        SamplingContext a{Rng(5, 0, step)};
        SamplingContext b{Rng(5, 0, step)};
        const DenseApply outcome =
            dense_stage->ApplyDense(absl::MakeSpan(work), dense_out, a);
        if (outcome == DenseApply::kUnsupported) break;
        REQUIRE(outcome == DenseApply::kSelected);
        TokenCandidates plain = FromLogits(work);
        plain_stage->Apply(plain, b);
        REQUIRE(plain.selected >= 0);
        REQUIRE(dense_out.selected == plain.data[plain.selected].id);
      }
      continue;
    }
    auto dense_stage = MakeStage(spec);
    auto plain_stage = MakeStage(spec);
    for (TokenId t : history) {
      dense_stage->Accept(t);
      plain_stage->Accept(t);
    }
    SamplingContext ctx{Rng(0, 0, 0)};
    std::vector<float> work = logits;
    TokenCandidates dense_out;
    const DenseApply outcome =
        dense_stage->ApplyDense(absl::MakeSpan(work), dense_out, ctx);
    if (outcome == DenseApply::kUnsupported) continue;
    if (outcome == DenseApply::kStillDense) dense_out = FromLogits(work);
    TokenCandidates plain = FromLogits(logits);
    plain_stage->Apply(plain, ctx);
    REQUIRE(dense_out.size() == plain.size());
    CHECK(dense_out.sorted == plain.sorted);
    CHECK(dense_out.dense == plain.dense);
    for (size_t i = 0; i < plain.size(); ++i) {
      CAPTURE(i);
      CHECK(dense_out.data[i].id == plain.data[i].id);
      CHECK(dense_out.data[i].logit == plain.data[i].logit);
      if (spec.stage == "top_p") {
        CHECK(dense_out.data[i].prob == plain.data[i].prob);
      }
    }
  }
}

}  // namespace
}  // namespace fm::sampler

namespace fm::sampler {
namespace {

TEST_CASE("vector kernels equal their scalar definitions bit for bit") {
  // Values across the whole range FastExp handles, plus -inf and a tail.
  std::vector<float> v;
  for (int i = 0; i < 1003; ++i) {
    v.push_back(static_cast<float>((i * 7919) % 2000) / 10.0f - 180.0f);
  }
  v[5] = kNegInf;
  v[6] = 88.5f;
  const float shift = 3.25f;
  std::vector<float> out(v.size());
  const float sum = ExpShiftSum(v.data(), out.data(), v.size(), shift);
  float lanes[8] = {};
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const float e = FastExp(v[i + j] - shift);
      REQUIRE(out[i + j] == e);
      lanes[j] += e;
    }
  }
  float expected = 0.0f;
  for (; i < v.size(); ++i) {
    const float e = FastExp(v[i] - shift);
    REQUIRE(out[i] == e);
    expected += e;
  }
  for (float lane : lanes) expected += lane;
  CHECK(sum == expected);
  CHECK(ExpShiftSum(v.data(), nullptr, v.size(), shift) == sum);
  CHECK(MaxOf(v.data(), v.size()) == 88.5f);
  // FastExp itself: close to std::exp, exactly 0 far below.
  for (float x = -80.0f; x < 80.0f; x += 0.37f) {
    CHECK(FastExp(x) == Approx(std::exp(x)).epsilon(1e-6));
  }
  CHECK(FastExp(-90.0f) == 0.0f);
  CHECK(FastExp(kNegInf) == 0.0f);
  CHECK(FastExp(0.0f) == 1.0f);
}

}  // namespace
}  // namespace fm::sampler

namespace fm::sampler {
namespace {

TEST_CASE("ScaleLogits equals ScaleLogit and never makes inf or NaN") {
  const float kMax = std::numeric_limits<float>::max();
  std::vector<float> v = {0.0f,  1.5f,   -2.0f,  kMax, -kMax, kNegInf,
                          3e38f, -3e38f, 1e-30f, 7.0f, -7.0f};
  for (float inv : {0.5f, 1.25f, 1e6f}) {
    std::vector<float> scaled = v;
    ScaleLogits(scaled.data(), scaled.size(), inv);
    for (size_t i = 0; i < v.size(); ++i) {
      CAPTURE(inv, i);
      CHECK(scaled[i] == ScaleLogit(v[i], inv));
      CHECK_FALSE(std::isnan(scaled[i]));
      if (v[i] != kNegInf) CHECK(std::isfinite(scaled[i]));
    }
  }
  std::vector<float> banned = {kNegInf};
  ScaleLogits(banned.data(), 1, 2.0f);
  CHECK(banned[0] == kNegInf);
}

// The traits every stage declares (ListStages reports them, the gateway
// relies on them) checked against what the stage does.

// Pseudo-random logits, with ties, over a small vocabulary.
std::vector<float> TraitLogits(int trial) {
  std::vector<float> logits(48);
  uint32_t s = 977u * static_cast<uint32_t>(trial) + 1;
  for (float& v : logits) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>((s >> 12) % 64) / 8.0f - 4.0f;
  }
  return logits;
}

// The candidates (ids and logits, in order) and the selected id after one
// stage, with its random stream keyed by `seed`.
struct Outcome {
  std::vector<std::pair<TokenId, float>> kept;
  TokenId selected = -1;
  bool operator==(const Outcome& o) const {
    return kept == o.kept && selected == o.selected;
  }
};

Outcome RunWithSeed(const StageSpec& spec, TokenCandidates candidates,
                    uint64_t seed) {
  auto stage = MakeStage(spec);
  SamplingContext ctx{Rng(seed, 0, 0)};
  stage->Apply(candidates, ctx);
  Outcome out;
  for (const TokenData& d : candidates.data)
    out.kept.push_back({d.id, d.logit});
  if (candidates.selected >= 0) {
    out.selected = candidates.data[candidates.selected].id;
  }
  return out;
}

TEST_CASE("stages that do not declare draws_random ignore the seed") {
  // A random stage that forgot to declare it would make the gateway cache
  // (and replay) one random draw for every later request.
  for (const StageInfo& info : AllStages()) {
    if (info.draws_random) continue;
    for (int trial = 0; trial < 40; ++trial) {
      INFO("stage " << info.name << " trial " << trial);
      const TokenCandidates c = FromLogits(TraitLogits(trial));
      const Outcome a = RunWithSeed({info.name, info.example}, c, 1);
      for (uint64_t seed : {2u, 99u, 123456u}) {
        REQUIRE(RunWithSeed({info.name, info.example}, c, seed) == a);
      }
    }
  }
}

TEST_CASE("the declared random stages do use the seed") {
  const std::map<std::string, std::map<std::string, ParamValue>> active = {
      {"dist", {}},
      {"xtc", {{"probability", 0.5}, {"threshold", 0.01}}},
      {"mirostat_v2", {}},
  };
  for (const StageInfo& info : AllStages()) {
    if (!info.draws_random) continue;
    INFO("stage " << info.name);
    REQUIRE(active.count(info.name) == 1);  // list new random stages here
    bool differs = false;
    for (int trial = 0; trial < 40 && !differs; ++trial) {
      const TokenCandidates c = FromLogits(TraitLogits(trial));
      const StageSpec spec{info.name, active.at(info.name)};
      differs = !(RunWithSeed(spec, c, 1) == RunWithSeed(spec, c, 2));
    }
    CHECK(differs);
  }
}

TEST_CASE("keeps_top_param and selects_top hold on the top logits alone") {
  for (const StageInfo& info : AllStages()) {
    if (info.keeps_top_param.empty() && !info.selects_top) continue;
    for (int64_t n : {1, 3, 10}) {
      for (int trial = 0; trial < 20; ++trial) {
        INFO("stage " << info.name << " n " << n << " trial " << trial);
        StageSpec spec{info.name, {}};
        size_t head = 1;
        if (!info.keeps_top_param.empty()) {
          spec.params[info.keeps_top_param] = n;
          head = static_cast<size_t>(n);
        }
        const std::vector<float> logits = TraitLogits(trial);
        // Only the `head` highest logits, as the gateway sends them (ties
        // broken towards the lower id, as the model's top-K does).
        std::vector<TokenId> order(logits.size());
        for (size_t i = 0; i < order.size(); ++i)
          order[i] = static_cast<TokenId>(i);
        std::stable_sort(order.begin(), order.end(), [&](TokenId a, TokenId b) {
          return logits[a] > logits[b];
        });
        TokenCandidates top;
        for (size_t i = 0; i < head; ++i) {
          top.data.push_back({order[i], logits[order[i]], 0.0f});
        }
        Outcome full = RunWithSeed(spec, FromLogits(logits), 1);
        Outcome part = RunWithSeed(spec, top, 1);
        auto by_id = [](std::vector<std::pair<TokenId, float>> v) {
          std::sort(v.begin(), v.end());
          return v;
        };
        CHECK(part.selected == full.selected);
        if (!info.keeps_top_param.empty()) {
          CHECK(by_id(part.kept) == by_id(full.kept));
        }
      }
    }
  }
}

}  // namespace
}  // namespace fm::sampler
