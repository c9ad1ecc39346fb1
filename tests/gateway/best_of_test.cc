// best_of end to end over stories260K: candidates sampled from one prompt,
// ranked by mean or sum logprob (recomputed here from the logprobs they
// return), by majority of normalised answers (counted here), and by the
// example verifier (fm-verifier, a real second service); with fmctl, and
// the errors of bad selections.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "common/chain_proto_json.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "tests/gateway/pipeline.h"
#include "tests/support/subprocess.h"

namespace fm::testing {
namespace {

using fm::v1::GenerateRequest;
using fm::v1::Selection;

GenerateRequest BestOf(int best_of, int n, Selection::Method method,
                       uint64_t seed) {
  GenerateRequest r;
  r.set_text("Once upon a time");
  r.set_max_tokens(24);
  r.set_seed(seed);
  r.set_n(n);
  r.set_best_of(best_of);
  r.mutable_select()->set_method(method);
  r.mutable_shorthand()->set_temperature(1.0);
  return r;
}

// The message carrying the candidates (the last one).
const fm::v1::GenerateResponse& Summary(const GenerateResult& r) {
  REQUIRE(!r.messages.empty());
  REQUIRE(r.messages.back().candidates_size() > 0);
  return r.messages.back();
}

double Mean(const fm::v1::Candidate& c) {
  REQUIRE(c.token_logprobs_size() > 0);
  return std::accumulate(c.token_logprobs().begin(), c.token_logprobs().end(),
                         0.0) /
         c.token_logprobs_size();
}

double Sum(const fm::v1::Candidate& c) {
  return std::accumulate(c.token_logprobs().begin(), c.token_logprobs().end(),
                         0.0);
}

// The candidate returned as sequence `seq`.
const fm::v1::Candidate& Chosen(const fm::v1::GenerateResponse& summary,
                                int seq) {
  for (const auto& c : summary.candidates()) {
    if (c.sequence_index() == seq) return c;
  }
  FAIL("no candidate is sequence " << seq);
  return summary.candidates(0);
}

TEST_CASE("best_of by mean and sum logprob returns the best candidates",
          "[gateway][best_of][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    auto r = p.Generate(BestOf(5, 1, Selection::MEAN_LOGPROB, seed));
    INFO(r.status.error_message());
    REQUIRE(r.status.ok());
    const auto& summary = Summary(r);
    REQUIRE(summary.candidates_size() == 5);
    const auto& best = Chosen(summary, 0);
    for (const auto& c : summary.candidates()) {
      CAPTURE(c.index(), c.text(), c.reason());
      CHECK(Mean(c) <= Mean(best) + 1e-6);
      CHECK(std::abs(c.score() - Mean(c)) < 1e-4);
      CHECK(!c.reason().empty());
      if (&c != &best) CHECK(c.sequence_index() == -1);
    }
    // The stream is the chosen candidate's text; no other sequence.
    CHECK(r.Text(0) == best.text());
    for (const auto& m : r.messages) CHECK(m.sequence_index() == 0);
    // Logprobs were not asked for: none streamed.
    for (const auto& m : r.messages) CHECK(m.tokens_size() == 0);
  }
  auto two = p.Generate(BestOf(6, 2, Selection::SUM_LOGPROB, 9));
  REQUIRE(two.status.ok());
  const auto& summary = Summary(two);
  const auto& first = Chosen(summary, 0);
  const auto& second = Chosen(summary, 1);
  CHECK(Sum(first) >= Sum(second));
  for (const auto& c : summary.candidates()) {
    if (c.sequence_index() < 0) CHECK(Sum(c) <= Sum(second) + 1e-6);
  }
  CHECK(two.Text(0) == first.text());
  CHECK(two.Text(1) == second.text());
  // Same seed, same selection.
  auto again = p.Generate(BestOf(6, 2, Selection::SUM_LOGPROB, 9));
  REQUIRE(again.status.ok());
  CHECK(again.Text(0) == two.Text(0));
}

TEST_CASE("best_of ranks by raw logprobs over the whole vocabulary",
          "[gateway][best_of][models]") {
  // The shorthand chain starts with top_k: a head of the logits would do
  // for the tokens, but raw logprobs over a head are renormalised over it.
  // Asking for logprobs (which always needs every logit) must change
  // neither the candidates' logprobs nor the pick.
  Pipeline p;
  REQUIRE_PIPELINE(p);
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    GenerateRequest plain = BestOf(3, 1, Selection::MEAN_LOGPROB, seed);
    plain.set_no_cache(true);
    GenerateRequest with_logprobs = plain;
    with_logprobs.set_logprobs(true);
    auto a = p.Generate(plain);
    auto b = p.Generate(with_logprobs);
    REQUIRE(a.status.ok());
    REQUIRE(b.status.ok());
    const auto& sa = Summary(a);
    const auto& sb = Summary(b);
    REQUIRE(sa.candidates_size() == sb.candidates_size());
    for (int i = 0; i < sa.candidates_size(); ++i) {
      CAPTURE(i);
      const auto& ca = sa.candidates(i);
      const auto& cb = sb.candidates(i);
      CHECK(ca.text() == cb.text());
      REQUIRE(ca.token_logprobs_size() == cb.token_logprobs_size());
      for (int t = 0; t < ca.token_logprobs_size(); ++t) {
        CHECK(ca.token_logprobs(t) == cb.token_logprobs(t));
      }
    }
    CHECK(a.Text(0) == b.Text(0));
  }
}

TEST_CASE("best_of by majority returns the most frequent normalised answer",
          "[gateway][best_of][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  int decided = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    GenerateRequest r = BestOf(9, 1, Selection::MAJORITY, seed);
    // Answers in a sentence; the extract pattern finds them, trimming and
    // lowercasing make "Yes" and "yes " one answer.
    r.mutable_constraint()->set_regex("The answer is (Yes|yes|No|no) ?\\.");
    r.mutable_select()->set_extract("answer is ([A-Za-z]+ ?)");
    r.mutable_select()->set_trim(true);
    r.mutable_select()->set_ignore_case(true);
    auto out = p.Generate(r);
    INFO(out.status.error_message());
    REQUIRE(out.status.ok());
    const auto& summary = Summary(out);
    std::map<std::string, int> votes;
    for (const auto& c : summary.candidates()) {
      REQUIRE(c.has_answer());
      CHECK((c.answer() == "yes" || c.answer() == "no"));
      ++votes[c.answer()];
    }
    const auto& best = Chosen(summary, 0);
    CAPTURE(best.answer(), votes["yes"], votes["no"]);
    for (const auto& [answer, count] : votes)
      CHECK(votes[best.answer()] >= count);
    CHECK(best.score() == votes[best.answer()]);
    CHECK_THAT(best.reason(),
               Catch::Contains("answer '" + best.answer() + "'"));
    decided += votes.size() == 2;
  }
  CHECK(decided >= 1);  // some seeds had a real vote
}

TEST_CASE("best_of by a verifier returns the verifier's pick",
          "[gateway][best_of][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  // Scores a candidate by how many times it says "the".
  ServiceProcess verifier("fm-verifier", {"--pattern=\\bthe\\b"});
  REQUIRE(verifier.WaitForServing());
  p.StartGateway({"--verifier=the-counter=" + verifier.address()});
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    GenerateRequest r = BestOf(4, 1, Selection::VERIFIER, seed);
    r.set_max_tokens(48);
    r.mutable_select()->set_verifier("the-counter");
    auto out = p.Generate(r);
    INFO(out.status.error_message());
    REQUIRE(out.status.ok());
    const auto& summary = Summary(out);
    const auto& best = Chosen(summary, 0);
    for (const auto& c : summary.candidates()) {
      // The score is the verifier's: count the matches here too.
      int count = 0;
      for (size_t at = c.text().find("the"); at != std::string::npos;
           at = c.text().find("the", at + 1)) {
        const bool starts = at == 0 || !std::isalnum(c.text()[at - 1]);
        const bool ends =
            at + 3 >= c.text().size() || !std::isalnum(c.text()[at + 3]);
        count += starts && ends;
      }
      CAPTURE(c.text());
      CHECK(c.score() == count);
      CHECK(c.score() <= best.score());
      CHECK_THAT(c.reason(), Catch::Contains("verifier:"));
    }
    CHECK(out.Text(0) == best.text());
  }
  // An unknown verifier, and one that is down.
  GenerateRequest unknown = BestOf(2, 1, Selection::VERIFIER, 1);
  unknown.mutable_select()->set_verifier("nobody");
  auto refused = p.Generate(unknown);
  CHECK(refused.status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("nobody"));
  verifier.Signal(SIGTERM);
  GenerateRequest down = BestOf(2, 1, Selection::VERIFIER, 1);
  down.mutable_select()->set_verifier("the-counter");
  auto failed = p.Generate(down, absl::Seconds(20));
  CHECK(failed.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(failed.status.error_message(),
             Catch::Contains("verifier 'the-counter'"));
}

TEST_CASE("bad selections get INVALID_ARGUMENT naming the field",
          "[gateway][best_of][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto expect = [&](const GenerateRequest& r, const std::string& says) {
    p.ExpectInvalidArgument(r, says);
  };
  expect(BestOf(1, 2, Selection::MEAN_LOGPROB, 1), "best_of = 1");
  expect(BestOf(17, 1, Selection::MEAN_LOGPROB, 1), "best_of = 17");
  GenerateRequest no_best_of = BestOf(0, 1, Selection::MAJORITY, 1);
  expect(no_best_of, "best_of is 0");
  GenerateRequest bad_regex = BestOf(2, 1, Selection::MAJORITY, 1);
  bad_regex.mutable_select()->set_extract("(unclosed");
  expect(bad_regex, "select.extract");
  GenerateRequest misplaced = BestOf(2, 1, Selection::MEAN_LOGPROB, 1);
  misplaced.mutable_select()->set_trim(true);
  expect(misplaced, "MAJORITY only");
  GenerateRequest nameless = BestOf(2, 1, Selection::VERIFIER, 1);
  expect(nameless, "select.verifier");
  // Still serving.
  CHECK(p.Generate(BestOf(2, 1, Selection::MEAN_LOGPROB, 1)).status.ok());
}

TEST_CASE("fmctl generate --best-of prints the candidates",
          "[gateway][best_of][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto out =
      RunCommand({"fmctl", "--gateway=" + p.gateway->address(), "generate",
                  "--best-of=3", "--select=sum_logprob", "--seed=4",
                  "--max-tokens=12", "--json", "Once upon a time"});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  const std::string last =
      out.out.substr(out.out.rfind('\n', out.out.size() - 2) + 1);
  const auto summary = nlohmann::json::parse(last);
  REQUIRE(summary["candidates"].size() == 3);
  int selected = 0;
  for (const auto& c : summary["candidates"]) selected += c["sequence"] == 0;
  CHECK(selected == 1);
  auto text = RunCommand({"fmctl", "--gateway=" + p.gateway->address(),
                          "generate", "--best-of=3", "--seed=4",
                          "--max-tokens=12", "Once upon a time"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.err, Catch::Contains("candidate 2:"));
}

}  // namespace
}  // namespace fm::testing
