// Beam search end to end over stories260K: width 1 is greedy; wider beams
// return the best finished beams by sum logprob / length^penalty
// (recomputed here from the logprobs they return); a constraint holds in
// every beam (constrained beam search); bad parameters are refused.
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <regex>
#include <string>

#include "fm/v1/gateway.grpc.pb.h"
#include "tests/gateway/pipeline.h"
#include "tests/support/subprocess.h"

namespace fm::testing {
namespace {

using fm::v1::GenerateRequest;

GenerateRequest Beams(int width, int n, int max_tokens = 40) {
  GenerateRequest r;
  r.set_text("Once upon a time");
  r.set_max_tokens(max_tokens);
  r.set_beam_width(width);
  r.set_n(n);
  return r;
}

const fm::v1::GenerateResponse& Summary(const GenerateResult& r) {
  REQUIRE(!r.messages.empty());
  REQUIRE(r.messages.back().candidates_size() > 0);
  return r.messages.back();
}

double Normalised(const fm::v1::Candidate& c, double penalty) {
  const double sum = std::accumulate(c.token_logprobs().begin(),
                                     c.token_logprobs().end(), 0.0);
  return sum / std::pow(std::max(c.token_logprobs_size(), 1), penalty);
}

TEST_CASE("beam search with width 1 equals greedy", "[gateway][beam][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  for (const char* prompt : {"Once upon a time", "The little dog", ""}) {
    CAPTURE(prompt);
    GenerateRequest greedy;
    greedy.set_text(prompt);
    greedy.set_max_tokens(40);
    greedy.mutable_shorthand()->set_temperature(0);
    auto g = p.Generate(greedy);
    REQUIRE(g.status.ok());
    GenerateRequest beam = Beams(1, 1);
    beam.set_text(prompt);
    auto b = p.Generate(beam);
    INFO(b.status.error_message());
    REQUIRE(b.status.ok());
    CHECK(b.Text(0) == g.Text(0));
    CHECK(Summary(b).candidates(0).sequence_index() == 0);
  }
}

TEST_CASE("wider beams return the best finished beams, best first",
          "[gateway][beam][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  for (double penalty : {1.0, 0.0, 2.0}) {
    CAPTURE(penalty);
    GenerateRequest r = Beams(4, 2, 48);
    r.set_length_penalty(static_cast<float>(penalty));
    auto out = p.Generate(r);
    INFO(out.status.error_message());
    REQUIRE(out.status.ok());
    const auto& summary = Summary(out);
    REQUIRE(summary.candidates_size() >= 2);
    double best[2] = {0, 0};
    for (const auto& c : summary.candidates()) {
      CAPTURE(c.text(), c.reason());
      CHECK(std::abs(c.score() - Normalised(c, penalty)) < 1e-4);
      if (c.sequence_index() >= 0) {
        CHECK(out.Text(c.sequence_index()) == c.text());
        best[c.sequence_index()] = c.score();
      }
    }
    CHECK(best[0] >= best[1]);
    for (const auto& c : summary.candidates()) {
      if (c.sequence_index() < 0) CHECK(c.score() <= best[1] + 1e-9);
    }
  }
  // Deterministic: the same request, the same beams.
  auto a = p.Generate(Beams(3, 1));
  auto b = p.Generate(Beams(3, 1));
  REQUIRE(a.status.ok());
  REQUIRE(b.status.ok());
  CHECK(a.Text(0) == b.Text(0));
  GenerateRequest early = Beams(3, 3);
  early.set_early_stopping(true);
  auto e = p.Generate(early);
  INFO(e.status.error_message());
  REQUIRE(e.status.ok());
  CHECK(Summary(e).candidates_size() >= 3);
}

TEST_CASE("constrained beam search: every beam obeys the constraint",
          "[gateway][beam][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::string pattern =
      "(cat|dog|bird)s? (ran|sat|flew) (away|down|home)\\.";
  GenerateRequest r = Beams(4, 4, 32);
  r.mutable_constraint()->set_regex(pattern);
  auto out = p.Generate(r);
  INFO(out.status.error_message());
  REQUIRE(out.status.ok());
  const std::regex oracle(pattern);
  const auto& summary = Summary(out);
  for (const auto& c : summary.candidates()) {
    CAPTURE(c.text());
    CHECK(std::regex_match(c.text(), oracle));
    CHECK(c.finish_reason() == fm::v1::FINISH_REASON_EOS);
  }
  for (int seq = 0; seq < 4; ++seq) {
    CHECK(std::regex_match(out.Text(seq), oracle));
  }
}

TEST_CASE("bad beam parameters get INVALID_ARGUMENT naming the field",
          "[gateway][beam][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto expect = [&](const GenerateRequest& r, const std::string& says) {
    p.ExpectInvalidArgument(r, says);
  };
  expect(Beams(9, 1), "beam_width = 9");
  expect(Beams(2, 3), "n = 3 exceeds beam_width = 2");
  GenerateRequest with_best_of = Beams(2, 1);
  with_best_of.set_best_of(2);
  expect(with_best_of, "best_of cannot be combined");
  GenerateRequest with_stop = Beams(2, 1);
  with_stop.add_stop(".");
  expect(with_stop, "stop cannot be combined");
  GenerateRequest long_penalty = Beams(2, 1);
  long_penalty.set_length_penalty(5);
  expect(long_penalty, "length_penalty = 5");
  GenerateRequest stray;
  stray.set_text("Once");
  stray.set_early_stopping(true);
  expect(stray, "need beam_width");
  CHECK(p.Generate(Beams(2, 1, 8)).status.ok());
  auto cli =
      RunCommand({"fmctl", "--gateway=" + p.gateway->address(), "generate",
                  "--beam-width=2", "--max-tokens=16", "Once upon a time"});
  INFO(cli.err);
  CHECK(cli.exit_code == 0);
  CHECK_THAT(cli.err, Catch::Contains("beam rank 1"));
}

}  // namespace
}  // namespace fm::testing
