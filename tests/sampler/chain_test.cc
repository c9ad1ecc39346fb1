// SamplerChain and BuildChain: validation errors that name stage, parameter,
// value and range; Sample's logprobs, alternatives, trace and bad inputs.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "services/sampler/sampler_chain.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

void ExpectError(const ChainSpec& spec, absl::StatusCode code,
                 std::vector<std::string> fragments) {
  absl::StatusOr<std::unique_ptr<SamplerChain>> chain = BuildChain(spec);
  REQUIRE_FALSE(chain.ok());
  const std::string message(chain.status().message());
  CAPTURE(message);
  CHECK(chain.status().code() == code);
  for (const std::string& f : fragments) {
    CAPTURE(f);
    CHECK(absl::StrContains(message, f));
  }
}

TEST_CASE(
    "chain validation errors name stage and parameter and value and range") {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  ExpectError({{"top_p", {{"p", 1.5}}}, {"dist", {}}}, kInvalid,
              {"#0", "top_p", "'p'", "1.5", "(0, 1]"});
  ExpectError({{"top_p", {{"p", 0.0}}}, {"dist", {}}}, kInvalid,
              {"top_p", "'p'", "= 0", "(0, 1]"});
  ExpectError({{"temperature", {{"temperature", -0.5}}}, {"dist", {}}},
              kInvalid, {"temperature", "-0.5", "[0, 100]"});
  ExpectError({{"dist", {}}, {"top_k", {{"k", int64_t{-3}}}}, {"dist", {}}},
              kInvalid, {"#0", "selector 'dist'", "last"});
  ExpectError({{"top_k", {{"k", int64_t{-3}}}}, {"dist", {}}}, kInvalid,
              {"top_k", "'k'", "-3", "[0, 16777216]"});
  ExpectError({{"top_k", {{"k", 2.5}}}, {"dist", {}}}, kInvalid,
              {"top_k", "'k'", "2.5", "integer"});
  ExpectError({{"top_k", {{"k", true}}}, {"dist", {}}}, kInvalid,
              {"top_k", "'k'", "true", "integer"});
  ExpectError({{"min_p", {{"min_keep", int64_t{0}}}}, {"dist", {}}}, kInvalid,
              {"min_p", "'min_keep'", "0", "[1, 1048576]"});
  ExpectError(
      {{"repetition_penalty", {{"last_n", int64_t{-2}}}}, {"greedy", {}}},
      kInvalid, {"repetition_penalty", "'last_n'", "-2"});
  ExpectError(
      {{"logit_bias", {{"bias", IdBiasList{{5, 1000.0}}}}}, {"greedy", {}}},
      kInvalid, {"logit_bias", "'bias'", "1000", "[-100, 100]"});
  ExpectError(
      {{"logit_bias", {{"bias", IdBiasList{{-1, 1.0}}}}}, {"greedy", {}}},
      kInvalid, {"logit_bias", "'bias'", "-1", "token ids"});
  ExpectError({{"ban", {{"ids", IdList{1, -7}}}}, {"greedy", {}}}, kInvalid,
              {"ban", "'ids'", "-7"});
  ExpectError({{"top_k", {{"kk", int64_t{3}}}}, {"dist", {}}}, kInvalid,
              {"top_k", "no parameter 'kk'", "k"});
  ExpectError({{"nucleus", {}}, {"dist", {}}}, absl::StatusCode::kNotFound,
              {"#0", "unknown sampler stage 'nucleus'"});
  ExpectError({{"top_k", {}}}, kInvalid, {"must end with a selector", "top_k"});
  ExpectError({}, kInvalid, {"empty"});
  ChainSpec too_long(kMaxChainStages + 1, StageSpec{"top_k", {}});
  ExpectError(too_long, kInvalid, {"at most"});
}

TEST_CASE("the registry describes every stage and parameter") {
  const std::vector<std::string> required = {"greedy",
                                             "dist",
                                             "temperature",
                                             "top_k",
                                             "top_p",
                                             "min_p",
                                             "typical_p",
                                             "top_n_sigma",
                                             "xtc",
                                             "mirostat_v2",
                                             "repetition_penalty",
                                             "presence_penalty",
                                             "frequency_penalty",
                                             "dry",
                                             "logit_bias",
                                             "allow",
                                             "ban"};
  for (const std::string& name : required) {
    CAPTURE(name);
    const StageInfo* info = FindStage(name);
    REQUIRE(info != nullptr);
    CHECK_FALSE(info->description.empty());
    for (const ParamInfo& p : info->params) {
      CAPTURE(p.name);
      CHECK_FALSE(p.meaning.empty());
      CHECK_FALSE(p.RangeText().empty());
      // Defaults are valid values.
      CHECK(ValidateStage({name, {{p.name, p.default_value}}}).ok());
    }
  }
  auto has = [](absl::string_view stage, absl::string_view param) {
    const StageInfo* info = FindStage(stage);
    if (info == nullptr) return false;
    for (const ParamInfo& p : info->params) {
      if (p.name == param) return true;
    }
    return false;
  };
  CHECK(has("temperature", "temperature"));
  CHECK(has("top_k", "k"));
  CHECK(has("top_p", "p"));
  CHECK(has("top_p", "min_keep"));
  CHECK(has("min_p", "p"));
  CHECK(has("min_p", "min_keep"));
  CHECK(has("typical_p", "p"));
  CHECK(has("repetition_penalty", "penalty"));
  CHECK(has("repetition_penalty", "last_n"));
  CHECK(has("presence_penalty", "penalty"));
  CHECK(has("frequency_penalty", "penalty"));
  CHECK(has("logit_bias", "bias"));
  CHECK(FindStage("dist")->kind == StageKind::kSelector);
  CHECK(FindStage("top_k")->kind == StageKind::kFilter);
}

std::unique_ptr<SamplerChain> Chain(const ChainSpec& spec) {
  auto chain = BuildChain(spec);
  INFO(chain.status().ToString());
  REQUIRE(chain.ok());
  return *std::move(chain);
}

TEST_CASE("Sample rejects bad logits and naming the index") {
  auto chain = Chain(DefaultChainSpec());
  SamplingContext ctx{Rng(1, 0, 0)};
  std::vector<float> logits(10, 0.0f);

  logits[7] = std::numeric_limits<float>::quiet_NaN();
  auto r = chain->Sample(logits, ctx);
  REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(r.status().message(), "logits[7]"));

  logits[7] = std::numeric_limits<float>::infinity();
  r = chain->Sample(logits, ctx);
  CHECK(absl::StrContains(r.status().message(), "logits[7]"));
  // -inf is a banned token (or one left out of a top-K transfer), not an
  // error; the banned token is never drawn.
  logits[7] = -std::numeric_limits<float>::infinity();
  for (uint64_t step = 0; step < 50; ++step) {
    SamplingContext c{Rng(1, 0, step)};
    r = chain->Sample(logits, c);
    REQUIRE(r.ok());
    CHECK(r->token != 7);
  }
  // Every token banned: a clear error.
  std::vector<float> all_banned(10, -std::numeric_limits<float>::infinity());
  r = chain->Sample(all_banned, ctx);
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  logits[7] = 0.0f;

  SampleOptions options;
  options.vocab_size = 32000;
  r = chain->Sample(logits, ctx, options);
  REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(r.status().message(), "10"));
  CHECK(absl::StrContains(r.status().message(), "32000"));

  r = chain->Sample({}, ctx);
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);

  // The chain keeps working after errors.
  r = chain->Sample(logits, ctx);
  CHECK(r.ok());
}

TEST_CASE("an emptied or fully banned candidate set is a clear error") {
  const std::vector<float> logits(4, 0.0f);
  SamplingContext ctx{Rng(1, 0, 0)};
  auto allow = Chain({{"allow", {{"ids", IdList{100, 200}}}}, {"dist", {}}});
  auto r = allow->Sample(logits, ctx);
  REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(r.status().message(), "no candidates left"));
  CHECK(absl::StrContains(r.status().message(), "allow"));

  auto ban = Chain({{"ban", {{"ids", IdList{0, 1, 2, 3}}}}, {"greedy", {}}});
  r = ban->Sample(logits, ctx);
  REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(r.status().message(), "banned"));

  auto ban_dist = Chain({{"ban", {{"ids", IdList{0, 1, 2, 3}}}},
                         {"top_k", {{"k", int64_t{2}}}},
                         {"dist", {}}});
  r = ban_dist->Sample(logits, ctx);
  REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("raw and processed logprobs and top-N alternatives") {
  // probs 0.1 0.2 0.3 0.4 as logits.
  const std::vector<float> logits = {std::log(0.1f), std::log(0.2f),
                                     std::log(0.3f), std::log(0.4f)};
  auto chain = Chain({{"top_k", {{"k", int64_t{2}}}}, {"greedy", {}}});
  SamplingContext ctx{Rng(1, 0, 0)};
  SampleOptions options;
  options.top_n = 3;
  options.logprob_mode = LogprobMode::kRaw;
  auto raw = chain->Sample(logits, ctx, options);
  REQUIRE(raw.ok());
  CHECK(raw->token == 3);
  CHECK(raw->logprob == Approx(std::log(0.4)).margin(1e-5));
  REQUIRE(raw->top.size() == 3);
  CHECK(raw->top[0].id == 3);
  CHECK(raw->top[1].id == 2);
  CHECK(raw->top[2].id == 1);
  CHECK(raw->top[2].logprob == Approx(std::log(0.2)).margin(1e-5));

  options.logprob_mode = LogprobMode::kProcessed;
  auto processed = chain->Sample(logits, ctx, options);
  REQUIRE(processed.ok());
  CHECK(processed->logprob == Approx(std::log(0.4 / 0.7)).margin(1e-5));
  REQUIRE(processed->top.size() == 2);  // Only 2 candidates are left.
  CHECK(processed->top[1].id == 2);
  CHECK(processed->top[1].logprob == Approx(std::log(0.3 / 0.7)).margin(1e-5));
  CHECK(processed->candidates == 2);

  SampleOptions bad;
  bad.top_n = -1;
  CHECK(chain->Sample(logits, ctx, bad).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("trace reports every stages candidates and top probabilities") {
  std::vector<float> logits(1000);
  for (int i = 0; i < 1000; ++i) logits[i] = static_cast<float>(i % 100) / 10;
  auto chain = Chain(DefaultChainSpec());
  SamplingContext ctx{Rng(3, 0, 0)};
  SampleOptions options;
  options.trace = true;
  options.trace_top = 3;
  auto r = chain->Sample(logits, ctx, options);
  REQUIRE(r.ok());
  REQUIRE(r->trace.size() == DefaultChainSpec().size());
  CHECK(r->trace[0].stage == "repetition_penalty");
  CHECK(r->trace[0].candidates == 1000);
  CHECK(r->trace[3].stage == "top_k");
  CHECK(r->trace[3].candidates == 40);
  CHECK(r->trace.back().stage == "dist");
  for (const StageTrace& t : r->trace) {
    CAPTURE(t.stage);
    CHECK(t.micros >= 0.0);
    REQUIRE(t.top.size() == 3);
    CHECK(t.top[0].prob >= t.top[1].prob);
    CHECK(t.top[0].prob > 0.0f);
    CHECK(t.top[0].prob <= 1.0f);
  }
  // Ten tokens share the top logit 9.9: after top_k 40 each has >= 1/40.
  CHECK(r->trace[3].top[0].logit == Approx(9.9f));
}

TEST_CASE("Sample accepts the token into the history - Clone is deep") {
  auto chain =
      Chain({{"presence_penalty", {{"penalty", 2.0}}}, {"greedy", {}}});
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f};
  SamplingContext ctx{Rng(0, 0, 0)};
  auto copy = chain->CloneChain();
  CHECK(chain->Sample(logits, ctx)->token == 0);
  CHECK(chain->Sample(logits, ctx)->token == 1);  // 0 is penalised now.
  CHECK(chain->Sample(logits, ctx)->token == 2);
  CHECK(copy->Sample(logits, ctx)->token == 0);  // The clone has no history.
  chain->Reset();
  CHECK(chain->Sample(logits, ctx)->token == 0);
  CHECK(chain->IsSelector());
  CHECK(chain->size() == 2);
  CHECK(chain->stage(0).Name() == "presence_penalty");
}

TEST_CASE("processed logprob of a dense dist equals the recomputed one") {
  std::vector<float> logits(3001);
  for (int i = 0; i < 3001; ++i) logits[i] = std::sin(i * 0.37f) * 4.0f;
  auto dist = Chain({{"temperature", {{"temperature", 0.7}}}, {"dist", {}}});
  auto greedy =
      Chain({{"temperature", {{"temperature", 0.7}}}, {"greedy", {}}});
  for (uint64_t step = 0; step < 20; ++step) {
    SamplingContext a{Rng(9, 0, step)};
    SamplingContext b{Rng(9, 0, step)};
    SampleOptions options;
    options.top_n = 2;
    auto r = dist->Sample(logits, a, options);
    auto g = greedy->Sample(logits, b, options);  // Recomputes LogSumExp.
    REQUIRE(r.ok());
    REQUIRE(g.ok());
    // Same final set, so the same normaliser: compare through top-1.
    CHECK(r->top[0].id == g->top[0].id);
    CHECK(r->top[0].logprob == g->top[0].logprob);
    CHECK(r->candidates == 3001);
  }
}

TEST_CASE("temperature 0 is greedy inside a dist chain") {
  auto chain = Chain({{"temperature", {{"temperature", 0.0}}}, {"dist", {}}});
  const std::vector<float> logits = {0.1f, 2.0f, 1.9f, -3.0f};
  for (uint64_t step = 0; step < 100; ++step) {
    SamplingContext ctx{Rng(5, 0, step)};
    auto r = chain->Sample(logits, ctx);
    REQUIRE(r.ok());
    REQUIRE(r->token == 1);
    CHECK(r->logprob == Approx(0.0f));
  }
}

TEST_CASE("large vocabularies sample the right token without a full sort") {
  // One dominant token in 128,256: every chain must find it.
  std::vector<float> logits(128256, -5.0f);
  logits[98765] = 20.0f;
  for (const ChainSpec& spec :
       {DefaultChainSpec(), ChainSpec{{"top_p", {{"p", 0.9}}}, {"dist", {}}},
        ChainSpec{{"min_p", {{"p", 0.1}}}, {"dist", {}}},
        ChainSpec{{"typical_p", {{"p", 0.5}}}, {"dist", {}}},
        ChainSpec{{"top_n_sigma", {{"n", 1.0}}}, {"dist", {}}},
        ChainSpec{{"mirostat_v2", {}}}, ChainSpec{{"greedy", {}}}}) {
    auto chain = Chain(spec);
    SamplingContext ctx{Rng(11, 0, 0)};
    auto r = chain->Sample(logits, ctx);
    REQUIRE(r.ok());
    CHECK(r->token == 98765);
  }
}

}  // namespace
}  // namespace fm::sampler
