// CheckConstraint end to end: texts tokenized by the real tokenizer
// (tok512, SentencePiece with a dummy prefix) and walked through
// constraints by the real sampler, through the gateway and through
// `fmctl check-constraint`; and the whole JSON-Schema-Test-Suite, whose
// instances say which must be accepted.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/match.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "tests/gateway/pipeline.h"
#include "tests/support/json_schema_suite.h"
#include "tests/support/subprocess.h"

namespace fm::testing {
namespace {

struct Checked {
  grpc::Status status;
  fm::v1::ConstraintCheck check;
};

Checked Check(Pipeline& p, const fm::v1::Constraint& constraint,
              const std::string& text) {
  fm::v1::GatewayCheckConstraintRequest request;
  *request.mutable_constraint() = constraint;
  request.set_text(text);
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(30)));
  Checked out;
  out.status = p.stub->CheckConstraint(&ctx, request, &out.check);
  return out;
}

fm::v1::Constraint Regex(const std::string& pattern) {
  fm::v1::Constraint c;
  c.set_regex(pattern);
  return c;
}

fm::v1::Constraint Schema(const std::string& schema) {
  fm::v1::Constraint c;
  c.set_json_schema(schema);
  return c;
}

TEST_CASE("CheckConstraint: accepted, incomplete and rejected texts",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto ok = Check(p, Regex("[0-9]{3}-[0-9]{4}"), "555-1234");
  INFO(ok.status.error_message());
  REQUIRE(ok.status.ok());
  CHECK(ok.check.accepted());
  CHECK(ok.check.complete());
  CHECK(ok.check.rejected_at() == -1);
  CHECK(ok.check.tokens() >= 2);
  CHECK(ok.check.compile_ms() > 0);
  CHECK(ok.check.mask_us().p50() > 0);
  CHECK(ok.check.mask_us().p50() <= ok.check.mask_us().p99());
  CHECK(ok.check.mask_us().p99() <= ok.check.mask_us().max());

  // Every token allowed, but the text is only a prefix of a match.
  auto prefix = Check(p, Regex("[0-9]{3}-[0-9]{4}"), "555-12");
  REQUIRE(prefix.status.ok());
  CHECK_FALSE(prefix.check.accepted());
  CHECK_FALSE(prefix.check.complete());
  CHECK(prefix.check.rejected_at() == -1);

  // Rejected at the token that carries the 'x'.
  auto bad = Check(p, Regex("[0-9]{3}-[0-9]{4}"), "555-x234");
  REQUIRE(bad.status.ok());
  CHECK_FALSE(bad.check.accepted());
  CHECK(bad.check.rejected_at() >= 1);
  CHECK(bad.check.rejected_at() < bad.check.tokens());

  // A JSON text at the very start: tokenized as generated text (no dummy
  // prefix), so its first token is "{" as a model would emit it.
  const std::string schema =
      R"({"type":"object","properties":{"name":{"type":"string"},)"
      R"("age":{"type":"integer","minimum":0}},"required":["name"]})";
  auto json = Check(p, Schema(schema), R"({"age": 7, "name": "Tom"})");
  INFO(json.status.error_message());
  REQUIRE(json.status.ok());
  CHECK(json.check.accepted());
  auto negative = Check(p, Schema(schema), R"({"age": -7, "name": "Tom"})");
  REQUIRE(negative.status.ok());
  CHECK_FALSE(negative.check.accepted());
  CHECK(negative.check.rejected_at() >= 0);

  fm::v1::Constraint choice;
  for (const char* c : {"yes", "no", "maybe later"}) {
    choice.mutable_choice()->add_choices(c);
  }
  CHECK(Check(p, choice, "maybe later").check.accepted());
  CHECK_FALSE(Check(p, choice, "maybe").check.accepted());
  fm::v1::Constraint grammar;
  grammar.set_grammar("root ::= \"Hi \" [A-Z] [a-z]+ \"!\"");
  CHECK(Check(p, grammar, "Hi Tom!").check.accepted());
  CHECK_FALSE(Check(p, grammar, "Hi tom!").check.accepted());
}

TEST_CASE("CheckConstraint: bad constraints get a clear status",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto malformed = Check(p, Regex("(ab"), "ab");
  CHECK(malformed.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(malformed.status.error_message(), Catch::Contains("offset 3"));
  auto unsupported =
      Check(p, Schema(R"({"properties":{"a":{"not":{}}}})"), "{}");
  CHECK(unsupported.status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK_THAT(unsupported.status.error_message(),
             Catch::Contains("#/properties/a/not"));
  auto broken = Check(p, Schema(R"({"type": "object",)"), "{}");
  CHECK(broken.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(broken.status.error_message(), Catch::Contains("byte"));
  auto none = Check(p, fm::v1::Constraint(), "x");
  CHECK(none.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(none.status.error_message(), Catch::Contains("constraint"));
  fm::v1::Constraint spaces = Regex("a");
  spaces.set_max_whitespace(3);
  auto misplaced = Check(p, spaces, "a");
  CHECK(misplaced.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(misplaced.status.error_message(),
             Catch::Contains("max_whitespace"));
  // The gateway keeps serving.
  CHECK(Check(p, Regex("a+"), "aaa").check.accepted());
}

TEST_CASE("fmctl check-constraint prints one JSON object and exits 0, 1, 2",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::string gateway = "--gateway=" + p.gateway->address();
  auto accepted = RunCommand({"fmctl", gateway, "check-constraint",
                              "--regex=[0-9]{3}-[0-9]{4}", "555-1234"});
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  const auto out = nlohmann::json::parse(accepted.out);
  CHECK(out["accepted"] == true);
  CHECK(out["complete"] == true);
  CHECK(out["rejected_at"] == -1);
  CHECK(out["tokens"].get<int>() >= 2);
  CHECK(out["compile_ms"].is_number());
  for (const char* q : {"p50", "p99", "max"})
    CHECK(out["mask_us"][q].is_number());

  const std::string schema_file = MakeTempDir() + "/schema.json";
  {
    std::ofstream f(schema_file);
    f << R"({"enum": ["red", "green"]})";
  }
  auto from_stdin = RunCommand({"fmctl", gateway, "check-constraint",
                                "--json-schema=" + schema_file, "-"},
                               "\"green\"");
  CHECK(from_stdin.exit_code == 0);
  auto rejected = RunCommand({"fmctl", gateway, "check-constraint", "--choice",
                              "yes", "--choice=no", "nope"});
  CHECK(rejected.exit_code == 1);
  CHECK(nlohmann::json::parse(rejected.out)["accepted"] == false);
  auto error = RunCommand(
      {"fmctl", gateway, "check-constraint", "--regex=(a)\\1", "aa"});
  CHECK(error.exit_code == 2);
  CHECK_THAT(error.err, Catch::Contains("backreference"));
  auto usage = RunCommand({"fmctl", gateway, "check-constraint", "text"});
  CHECK(usage.exit_code == 2);
}

TEST_CASE(
    "CheckConstraint over the JSON-Schema-Test-Suite: valid instances "
    "accepted, invalid rejected, unsupported refused",
    "[gateway][constraint][models][json_schema]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const auto suite = LoadJsonSchemaSuite();
  if (!suite) return;
  int compiled = 0, checked = 0;
  for (const SuiteGroup& group : *suite) {
    CAPTURE(group.file, group.description, group.schema);
    bool refused = false;
    for (const SuiteCase& c : group.cases) {
      CAPTURE(c.id, c.data);
      auto r = Check(p, Schema(group.schema), c.data);
      if (!r.status.ok()) {
        // Refused as a whole (the same for every instance): a keyword
        // outside the contract, or a schema nothing satisfies.
        const bool empty =
            absl::StrContains(r.status.error_message(), "no JSON value");
        CHECK((r.status.error_code() == grpc::StatusCode::UNIMPLEMENTED ||
               r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
               r.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED));
        if (empty) CHECK_FALSE(c.valid);
        refused = !empty;  // a schema nothing satisfies is supported
        break;
      }
      ++checked;
      if (c.valid && !KnownNarrowing(c.id)) CHECK(r.check.accepted());
      if (!c.valid) CHECK_FALSE(r.check.accepted());
    }
    compiled += refused ? 0 : 1;
  }
  WARN(compiled << " of " << suite->size() << " schemas supported, " << checked
                << " instances checked through the gateway");
  CHECK(compiled * 10 >= static_cast<int>(suite->size()) * 4);
}

}  // namespace
}  // namespace fm::testing
