// The gateway's generation pieces that need no service: the request checks
// of the plan, and one sequence's end conditions and streamed text.
#include "services/gateway/generation_plan.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/text/vocab_detokenizer.h"
#include "services/gateway/generated_sequence.h"

namespace fm::gateway {
namespace {

using fm::v1::FinishReason;
using fm::v1::GenerateRequest;
using fm::v1::GenerateResponse;

std::string ValidationError(const GenerateRequest& request) {
  GenerationLimits limits;  // n <= 16, max_tokens <= 4096, 8 stops, ...
  absl::Status status = ValidateGenerateRequest(request, limits);
  if (status.ok()) return "ok";
  CHECK(absl::IsInvalidArgument(status));
  return std::string(status.message());
}

TEST_CASE("the plan's request checks name the field, value and limit",
          "[plan]") {
  GenerateRequest r;
  r.set_text("Once");
  CHECK(ValidationError(r) == "ok");
  GenerateRequest bad = r;
  bad.set_n(17);
  CHECK(ValidationError(bad) == "n = 17 is outside [1, 16]");
  bad = r;
  bad.set_max_tokens(5000);
  CHECK(ValidationError(bad) ==
        "max_tokens = 5000 is outside [1, 4096] (--max_tokens_limit)");
  bad = r;
  bad.set_max_tokens(10);
  bad.set_min_tokens(11);
  CHECK(ValidationError(bad) ==
        "min_tokens = 11 is outside [0, 10] (max_tokens)");
  bad = r;
  for (int i = 0; i < 9; ++i) bad.add_stop("x");
  CHECK(ValidationError(bad) == "stop has 9 strings; at most 8 are allowed");
  bad = r;
  bad.add_stop("");
  CHECK(ValidationError(bad) == "stop[0] has 0 bytes; it must have 1 to 256");
  bad = r;
  bad.add_stop("\xC3");
  CHECK_THAT(ValidationError(bad), Catch::Contains("stop[0]"));
  bad = r;
  bad.set_top_logprobs(21);
  CHECK(ValidationError(bad) == "top_logprobs = 21 is outside [0, 20]");
  bad = r;
  bad.set_text("\xFF");
  CHECK_THAT(ValidationError(bad), Catch::Contains("prompt text"));
}

// A byte-level vocabulary: <s>, </s>, "a", "b", "c", and the two bytes of
// "é" as separate tokens.
enum : TokenId { kBos, kEos, kA, kB, kC, kE1, kE2 };

std::shared_ptr<const PipelineFacts> Facts() {
  std::vector<text::VocabEntry> entries = {
      {"<s>", 0, text::PieceType::kControl, ""},
      {"</s>", 0, text::PieceType::kControl, ""},
      {"a", 0, text::PieceType::kNormal, "a"},
      {"b", 0, text::PieceType::kNormal, "b"},
      {"c", 0, text::PieceType::kNormal, "c"},
      {"\xC3", 0, text::PieceType::kNormal, "\xC3"},
      {"\xA9", 0, text::PieceType::kNormal, "\xA9"},
  };
  text::SpecialIds special;
  special.bos = kBos;
  special.eos = kEos;
  text::DecodeRules rules;
  rules.byte_level = true;
  auto facts = std::make_shared<PipelineFacts>();
  facts->vocab = std::make_shared<text::VocabDetokenizer>(std::move(entries),
                                                          special, rules);
  return facts;
}

GenerationPlan Plan(StopRules stops) {
  GenerationPlan plan;
  plan.facts = Facts();
  plan.prompt = {kBos, kA};
  plan.stops = std::move(stops);
  return plan;
}

// Feeds `tokens` until the sequence ends; returns every message.
std::vector<GenerateResponse> Feed(GeneratedSequence& seq,
                                   const std::vector<TokenId>& tokens) {
  std::vector<GenerateResponse> out;
  REQUIRE(seq.Prime().ok());
  for (TokenId id : tokens) {
    REQUIRE(seq.live());
    fm::v1::SampledToken sampled;
    sampled.set_id(id);
    out.push_back(seq.Accept(sampled));
    if (!seq.live()) break;
  }
  return out;
}

std::string Text(const std::vector<GenerateResponse>& messages) {
  std::string text;
  for (const GenerateResponse& m : messages) text += m.text();
  return text;
}

TEST_CASE("a sequence ends at max_tokens with its usage", "[plan]") {
  StopRules stops;
  stops.max_tokens = 3;
  const GenerationPlan plan = Plan(stops);
  GeneratedSequence seq(2, plan, absl::Now());
  auto messages = Feed(seq, {kB, kC, kB, kC});
  REQUIRE(messages.size() == 3);
  CHECK_FALSE(seq.live());
  CHECK(Text(messages) == "bcb");
  CHECK(messages[0].sequence_index() == 2);
  CHECK(messages[1].finish_reason() == fm::v1::FINISH_REASON_UNSPECIFIED);
  CHECK(messages[2].finish_reason() == fm::v1::FINISH_REASON_LENGTH);
  CHECK(messages[2].usage().completion_tokens() == 3);
  CHECK(messages[2].usage().prompt_tokens() == 2);
  CHECK(std::vector<TokenId>(seq.generated().begin(), seq.generated().end()) ==
        std::vector<TokenId>{kB, kC, kB});
}

TEST_CASE("end of generation ends a sequence only after min_tokens", "[plan]") {
  StopRules stops;
  stops.max_tokens = 10;
  stops.min_tokens = 2;
  const GenerationPlan plan = Plan(stops);
  GeneratedSequence seq(0, plan, absl::Now());
  auto messages = Feed(seq, {kEos, kB, kEos});
  REQUIRE(messages.size() == 3);
  // The first EOS (before min_tokens) is a token like any other; its
  // control piece has no text.
  CHECK(messages[0].token_ids_size() == 1);
  CHECK(messages[2].finish_reason() == fm::v1::FINISH_REASON_EOS);
  CHECK(messages[2].stop_token_id() == kEos);
  CHECK(messages[2].token_ids_size() == 0);
  CHECK(messages[2].usage().completion_tokens() == 3);

  stops.ignore_eos = true;
  const GenerationPlan ignoring = Plan(stops);
  GeneratedSequence ignored(0, ignoring, absl::Now());
  auto all = Feed(ignored, {kEos, kEos, kEos, kB});
  CHECK(all.size() == 4);
  CHECK(ignored.live());
}

TEST_CASE("a stop id ends the sequence without its text", "[plan]") {
  StopRules stops;
  stops.max_tokens = 10;
  stops.stop_token_ids = {kC};
  const GenerationPlan plan = Plan(stops);
  GeneratedSequence seq(0, plan, absl::Now());
  auto messages = Feed(seq, {kB, kC});
  REQUIRE(messages.size() == 2);
  CHECK(Text(messages) == "b");
  CHECK(messages[1].finish_reason() == fm::v1::FINISH_REASON_STOP);
  CHECK(messages[1].stop_token_id() == kC);
}

TEST_CASE("a stop string across tokens is cut exactly, held text released",
          "[plan]") {
  StopRules stops;
  stops.max_tokens = 10;
  stops.stop_strings = {"bc"};
  const GenerationPlan plan = Plan(stops);
  GeneratedSequence seq(0, plan, absl::Now());
  auto messages = Feed(seq, {kA, kB, kA, kB, kC, kA});
  REQUIRE(messages.size() == 5);
  CHECK(messages[1].text().empty());  // "b" might begin "bc": held back
  CHECK(messages[2].text() == "ba");
  CHECK(Text(messages) == "aba");
  CHECK(messages[4].finish_reason() == fm::v1::FINISH_REASON_STOP);
  CHECK(messages[4].stop_string() == "bc");

  // Ended by length with "b" held back: it is released with the end.
  stops.max_tokens = 2;
  const GenerationPlan short_plan = Plan(stops);
  GeneratedSequence cut(0, short_plan, absl::Now());
  auto ended = Feed(cut, {kA, kB});
  CHECK(Text(ended) == "ab");
  CHECK(ended.back().finish_reason() == fm::v1::FINISH_REASON_LENGTH);
}

TEST_CASE("a character split across tokens streams whole", "[plan]") {
  StopRules stops;
  stops.max_tokens = 3;
  const GenerationPlan plan = Plan(stops);
  GeneratedSequence seq(0, plan, absl::Now());
  auto messages = Feed(seq, {kE1, kE2, kE1});
  REQUIRE(messages.size() == 3);
  CHECK(messages[0].text().empty());
  CHECK(messages[1].text() == "\xC3\xA9");
  // The last, unfinished character is rendered as a one-shot decode would.
  CHECK(messages[2].text() == "\xEF\xBF\xBD");
}

TEST_CASE("token details only when the plan asks for them", "[plan]") {
  StopRules stops;
  stops.max_tokens = 1;
  GenerationPlan plan = Plan(stops);
  GeneratedSequence plain(0, plan, absl::Now());
  CHECK(Feed(plain, {kB})[0].tokens_size() == 0);
  plan.token_details = true;
  GeneratedSequence detailed(0, plan, absl::Now());
  fm::v1::SampledToken sampled;
  sampled.set_id(kB);
  sampled.set_logprob(-0.5f);
  REQUIRE(detailed.Prime().ok());
  const GenerateResponse out = detailed.Accept(sampled);
  REQUIRE(out.tokens_size() == 1);
  CHECK(out.tokens(0).id() == kB);
  CHECK(out.tokens(0).logprob() == -0.5f);
}

}  // namespace
}  // namespace fm::gateway
