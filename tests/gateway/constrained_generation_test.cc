// Constrained generation end to end: stories260K (a model that knows
// nothing of the formats) through the four real binaries, with regex,
// choice, json, json_schema and grammar constraints as sampler stages.
// Every output is checked with an independent matcher (std::regex,
// nlohmann::json, python3-jsonschema), for many seeds.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/chain_proto_json.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/gateway/pipeline.h"
#include "tests/support/gateway_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using fm::v1::GenerateRequest;

// A constraint stage (as JSON) first, then temperature and dist.
GenerateRequest Constrained(const std::string& prompt,
                            const nlohmann::json& stage, uint64_t seed,
                            int max_tokens = 96, double temperature = 1.0) {
  nlohmann::json chain = nlohmann::json::array();
  chain.push_back(stage);
  chain.push_back({{"stage", "temperature"}, {"temperature", temperature}});
  chain.push_back({{"stage", "dist"}});
  auto parsed = ChainFromJson(chain.dump());
  REQUIRE(parsed.ok());
  GenerateRequest r;
  r.set_text(prompt);
  *r.mutable_sampling()->mutable_chain() = *parsed;
  r.set_seed(seed);
  r.set_max_tokens(max_tokens);
  return r;
}

TEST_CASE("regex constraints hold for every seed, and end the text",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::vector<std::string> patterns = {
      "[0-9]{3}-[0-9]{4}",
      "(cat|dog)s? (ran|sat) (away|down)\\.",
      "[A-Z][a-z]{1,6}( [a-z]{1,6}){1,3}\\.",
      "\\{\"name\": \"[a-z]{1,8}\", \"age\": [1-9][0-9]?\\}",
      "(caf\xC3\xA9|na\xC3\xAFve|\xE2\x82\xAC[0-9]{1,3})",
  };
  for (const std::string& pattern : patterns) {
    const std::regex oracle(pattern, std::regex::ECMAScript);
    std::set<std::string> distinct;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      CAPTURE(pattern, seed);
      auto r = p.Generate(
          Constrained("Once upon a time",
                      {{"stage", "regex"}, {"pattern", pattern}}, seed));
      INFO(r.status.error_message());
      REQUIRE(r.status.ok());
      const std::string text = r.Text();
      CAPTURE(text);
      CHECK(std::regex_match(text, oracle));
      // The constraint ended the text (end of generation allowed only
      // once it matches), not the length limit.
      REQUIRE(r.Last() != nullptr);
      CHECK(r.Last()->finish_reason() == fm::v1::FINISH_REASON_EOS);
      distinct.insert(text);
    }
    // Sampling still samples: the seeds do not all give one text.
    if (pattern != "(cat|dog)s? (ran|sat) (away|down)\\.") {
      CHECK(distinct.size() > 1);
    }
  }
}

TEST_CASE("choice gives exactly one of the choices, and n sequences each obey",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::vector<std::string> choices = {"yes", "no", "maybe later",
                                            "\xC3\xA0 bient\xC3\xB4t"};
  const nlohmann::json stage = {{"stage", "choice"}, {"choices", choices}};
  std::set<std::string> seen;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    GenerateRequest request = Constrained("The answer is", stage, seed);
    request.set_n(3);  // forks share the constraint, each with its state
    auto r = p.Generate(request);
    INFO(r.status.error_message());
    REQUIRE(r.status.ok());
    for (int seq = 0; seq < 3; ++seq) {
      CAPTURE(seq, r.Text(seq));
      CHECK(std::find(choices.begin(), choices.end(), r.Text(seq)) !=
            choices.end());
      seen.insert(r.Text(seq));
    }
  }
  CHECK(seen.size() >= 2);
}

TEST_CASE("json outputs parse for every seed, and JSON mode gives objects",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  int complete = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const bool object_only = seed % 2 == 0;
    auto r = p.Generate(Constrained(
        "Once upon a time",
        {{"stage", "json"}, {"object", object_only}, {"max_whitespace", 2}},
        seed, 256, 0.7));
    INFO(r.status.error_message());
    REQUIRE(r.status.ok());
    const std::string text = r.Text();
    CAPTURE(text);
    REQUIRE_FALSE(text.empty());
    if (object_only) CHECK(text[0] == '{');
    REQUIRE(r.Last() != nullptr);
    if (r.Last()->finish_reason() != fm::v1::FINISH_REASON_EOS) {
      // A story model writes long strings: cut by max_tokens, the text is
      // a prefix of JSON (the parser sees only an unexpected end).
      CHECK(r.Last()->finish_reason() == fm::v1::FINISH_REASON_LENGTH);
      try {
        (void)nlohmann::json::parse(text);
        FAIL("a cut text parsed whole");
      } catch (const nlohmann::json::parse_error& e) {
        CHECK(e.byte == text.size() + 1);  // it ran out of input, nothing else
      }
      continue;
    }
    REQUIRE(nlohmann::json::accept(text));
    if (object_only) CHECK(nlohmann::json::parse(text).is_object());
    ++complete;
  }
  CHECK(complete >= 5);
}

// Validates each (schema, text) pair with python3-jsonschema (draft 2020-12,
// formats asserted): one line per pair, "ok" or the first error.
std::vector<std::string> ValidateWithPython(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  nlohmann::json input = nlohmann::json::array();
  for (const auto& [schema, text] : pairs) input.push_back({schema, text});
  const std::string script = R"(
import json, sys
import jsonschema
for schema, text in json.load(sys.stdin):
    try:
        instance = json.loads(text)
    except ValueError as e:
        print("not JSON: %s" % e)
        continue
    validator = jsonschema.Draft202012Validator(
        json.loads(schema), format_checker=jsonschema.FormatChecker())
    errors = [e.message for e in validator.iter_errors(instance)]
    print("ok" if not errors else errors[0].replace("\n", " "))
)";
  CommandResult r =
      RunCommand({"/usr/bin/python3", "-c", script}, input.dump());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  REQUIRE(lines.size() == pairs.size());
  return lines;
}

TEST_CASE("json_schema outputs validate against their schemas for every seed",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  if (RunCommand({"/usr/bin/python3", "-c", "import jsonschema"}).exit_code !=
      0) {
    FAIL("python3-jsonschema is missing: bash scripts/install_deps.sh --tests");
  }
  // Bounded schemas (a story model never closes a free string on its own).
  const std::vector<std::string> schemas = {
      R"({"type":"object","properties":{"name":{"type":"string",)"
      R"("maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120}},)"
      R"("required":["name","age"],"additionalProperties":false})",
      R"({"enum":["red","green",{"x":1},[1,2],null,2.5]})",
      R"({"type":"array","items":{"type":"integer","minimum":-5,)"
      R"("exclusiveMaximum":5},"minItems":1,"maxItems":4})",
      R"({"type":"object","properties":{"day":{"type":"string",)"
      R"("format":"date"},"ok":{"type":"boolean"},"id":{"type":"string",)"
      R"("format":"uuid"}},"required":["day","ok","id"],)"
      R"("additionalProperties":false})",
      R"({"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},)"
      R"("n":{"type":"integer","minimum":1,"maximum":9}},)"
      R"("required":["kind","n"],"additionalProperties":false},)"
      R"({"type":"object","properties":{"kind":{"const":"b"},"s":{)"
      R"("type":"string","pattern":"^[a-z]{1,4}$"}},"required":["kind","s"],)"
      R"("additionalProperties":false}]})",
      R"({"$defs":{"list":{"anyOf":[{"type":"null"},{"type":"object",)"
      R"("properties":{"head":{"type":"boolean"},"tail":{"$ref":)"
      R"("#/$defs/list"}},"required":["head","tail"],)"
      R"("additionalProperties":false}]}},"type":"object",)"
      R"("$ref":"#/$defs/list"})",
  };
  std::vector<std::pair<std::string, std::string>> outputs;
  for (const std::string& schema : schemas) {
    std::set<std::string> distinct;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      CAPTURE(schema, seed);
      auto r = p.Generate(Constrained(
          "Once upon a time",
          {{"stage", "json_schema"}, {"schema", schema}, {"max_whitespace", 1}},
          seed, 160, 0.9));
      INFO(r.status.error_message());
      REQUIRE(r.status.ok());
      CAPTURE(r.Text());
      REQUIRE(r.Last() != nullptr);
      // The constraint ends every text (the recursive one may run long).
      if (schema.find("$defs") == std::string::npos) {
        CHECK(r.Last()->finish_reason() == fm::v1::FINISH_REASON_EOS);
      }
      if (r.Last()->finish_reason() != fm::v1::FINISH_REASON_EOS) continue;
      outputs.emplace_back(schema, r.Text());
      distinct.insert(r.Text());
    }
    // Sampling still samples (the story model always starts the enum
    // with its likeliest letter, `null`).
    CAPTURE(schema);
    if (schema.find("enum") != 2) CHECK(distinct.size() > 1);
  }
  CHECK(outputs.size() >= 100);
  const std::vector<std::string> verdicts = ValidateWithPython(outputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    CAPTURE(outputs[i].first, outputs[i].second);
    CHECK(verdicts[i] == "ok");
  }
  // The schema may also be written inline in the chain, as an object.
  auto inline_schema = p.Generate(Constrained(
      "Once upon a time",
      {{"stage", "json_schema"},
       {"schema", nlohmann::json::parse(R"({"enum":["inline",7]})")}},
      1));
  INFO(inline_schema.status.error_message());
  REQUIRE(inline_schema.status.ok());
  CAPTURE(inline_schema.Text(), inline_schema.Last()->finish_reason());
  const auto value = nlohmann::json::parse(inline_schema.Text());
  CHECK((value == "inline" || value == 7));
  // Refused keywords and unsatisfiable schemas name their place.
  auto refused = p.Generate(Constrained(
      "Once",
      {{"stage", "json_schema"},
       {"schema", R"({"properties":{"a":{"not":{"type":"null"}}}})"}},
      1));
  CHECK(refused.status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK_THAT(refused.status.error_message(),
             Catch::Contains("'not'") && Catch::Contains("#/properties/a/not"));
  auto empty = p.Generate(
      Constrained("Once",
                  {{"stage", "json_schema"},
                   {"schema", R"({"type":"integer","minimum":3,"maximum":2})"}},
                  1));
  CHECK(empty.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(empty.status.error_message(),
             Catch::Contains("no JSON value satisfies"));
}

TEST_CASE(
    "GenerateRequest.constraint goes first in shorthand, profile and inline "
    "chains, and fmctl generate takes the constraint flags",
    "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::regex oracle("[0-9]{3}-[0-9]{4}");
  for (int how = 0; how < 3; ++how) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      GenerateRequest r;
      r.set_text("Once upon a time");
      r.set_seed(seed);
      r.set_max_tokens(32);
      r.mutable_constraint()->set_regex("[0-9]{3}-[0-9]{4}");
      if (how == 0) {
        r.mutable_shorthand()->set_temperature(1.0);
        r.mutable_shorthand()->set_top_k(5);  // after the constraint
      } else if (how == 1) {
        r.mutable_sampling()->set_profile("default");
      } else {
        auto chain =
            ChainFromJson(R"([{"stage":"top_k","k":3},{"stage":"dist"}])");
        REQUIRE(chain.ok());
        *r.mutable_sampling()->mutable_chain() = *chain;
      }
      CAPTURE(how, seed);
      auto out = p.Generate(r);
      INFO(out.status.error_message());
      REQUIRE(out.status.ok());
      CAPTURE(out.Text());
      CHECK(std::regex_match(out.Text(), oracle));
    }
  }
  GenerateRequest bad;
  bad.set_text("Once");
  bad.mutable_constraint()->set_max_whitespace(2);
  auto refused = p.Generate(bad);
  CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.status.error_message(), Catch::Contains("constraint"));

  const std::string schema_file = MakeTempDir() + "/schema.json";
  {
    std::ofstream f(schema_file);
    f << R"({"type":"object","properties":{"ok":{"type":"boolean"}},)"
         R"("required":["ok"],"additionalProperties":false})";
  }
  auto cli =
      RunCommand({"fmctl", "--gateway=" + p.gateway->address(), "generate",
                  "--json-schema", schema_file, "--max-whitespace=0",
                  "--temperature=1", "--seed=3", "Once upon a time"});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  std::string text = cli.out;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto value = nlohmann::json::parse(text);
  CHECK(value.is_object());
  CHECK(value.size() == 1);
  CHECK(value["ok"].is_boolean());
  auto choice = RunCommand({"fmctl", "--gateway=" + p.gateway->address(),
                            "generate", "--choice", "yes", "--choice=no",
                            "--seed=1", "The answer is"});
  REQUIRE(choice.exit_code == 0);
  CHECK((choice.out == "yes\n" || choice.out == "no\n"));
  auto two = RunCommand({"fmctl", "--gateway=" + p.gateway->address(),
                         "generate", "--choice=yes", "--regex=a", "x"});
  CHECK(two.exit_code != 0);
  CHECK_THAT(two.err, Catch::Contains("one of"));
}

TEST_CASE("a GBNF grammar's outputs always parse",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::string gbnf = R"(root ::= greeting " " name "!" ( " " mood )?
greeting ::= "Hello" | "Hi" | "Dear"
name ::= [A-Z] [a-z]{1,8}
mood ::= "Happy" | "Sad" | [0-9]{1,2} " stars"
)";
  const std::regex oracle(
      "(Hello|Hi|Dear) [A-Z][a-z]{1,8}!( (Happy|Sad|[0-9]{1,2} stars))?");
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    auto r = p.Generate(Constrained(
        "Once upon a time", {{"stage", "grammar"}, {"gbnf", gbnf}}, seed));
    INFO(r.status.error_message());
    REQUIRE(r.status.ok());
    CAPTURE(r.Text());
    CHECK(std::regex_match(r.Text(), oracle));
    CHECK(r.Last()->finish_reason() == fm::v1::FINISH_REASON_EOS);
  }
  // A grammar error names its line.
  auto bad = p.Generate(Constrained(
      "Once", {{"stage", "grammar"}, {"gbnf", "root ::= a\na ::= b\n"}}, 1));
  CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad.status.error_message(),
             Catch::Contains("'b' is used but not defined") &&
                 Catch::Contains("line 2"));
}

TEST_CASE(
    "a constraint at the very start of the text checks what the client "
    "receives",
    "[gateway][constraint][models]") {
  // With a BOS-only prompt SentencePiece drops the first piece's leading
  // space: a constraint that saw "\xe2\x96\x81the" as " the" would pass a
  // text the client receives as "the".
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::string pattern = " [a-z]{2,8}";
  const std::regex oracle(pattern, std::regex::ECMAScript);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    auto r = p.Generate(
        Constrained("", {{"stage", "regex"}, {"pattern", pattern}}, seed));
    INFO(r.status.error_message());
    REQUIRE(r.status.ok());
    CAPTURE(r.Text());
    CHECK(std::regex_match(r.Text(), oracle));
  }
}

TEST_CASE("the model's head among the constraint's allowed ids changes nothing",
          "[gateway][constraint][models]") {
  // A constraint, then a chain that needs only a head (top_k, or greedy
  // alone): the sampler reports each step's allowed ids, the model sends
  // the head among them. With raw logprobs the same request goes dense.
  // The patterns ban most of what the model would say (capitals,
  // punctuation, the end of the text), so a head taken over every id
  // would often hold nothing the constraint allows, or too little.
  Pipeline p;
  REQUIRE_PIPELINE(p);
  const std::vector<std::string> chains = {
      R"([{"stage":"regex","pattern":"[a-z]+( [a-z]+){2,12}\\."},)"
      R"({"stage":"top_k","k":5},{"stage":"temperature","temperature":1.3},)"
      R"({"stage":"dist"}])",
      R"([{"stage":"regex","pattern":"[a-z ]{10,60}[!?]"},)"
      R"({"stage":"greedy"}])",
      R"([{"stage":"json_schema","schema":{"type":"object","properties":)"
      R"({"name":{"type":"string","maxLength":12},"age":{"type":"integer",)"
      R"("minimum":1}},"required":["name","age"],)"
      R"("additionalProperties":false}},)"
      R"({"stage":"top_k","k":3},{"stage":"dist"}])",
  };
  for (const std::string& json : chains) {
    auto chain = ChainFromJson(json);
    REQUIRE(chain.ok());
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      CAPTURE(json, seed);
      GenerateRequest head;
      head.set_text("Once upon a time");
      *head.mutable_sampling()->mutable_chain() = *chain;
      head.set_seed(seed);
      head.set_n(2);  // forks: each sequence its own allowed ids
      head.set_max_tokens(64);
      head.set_no_cache(true);
      GenerateRequest dense = head;
      dense.set_logprobs(true);
      auto a = p.Generate(head);
      auto b = p.Generate(dense);
      INFO(a.status.error_message() << " / " << b.status.error_message());
      REQUIRE(a.status.ok());
      REQUIRE(b.status.ok());
      for (int seq = 0; seq < 2; ++seq) {
        CAPTURE(seq);
        CHECK(a.Text(seq) == b.Text(seq));
        CHECK(!a.Text(seq).empty());
      }
    }
  }
}

TEST_CASE("greedy under a constraint is deterministic and cached",
          "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto chain =
      ChainFromJson(R"([{"stage":"regex","pattern":"[a-z]+( [a-z]+){0,5}\\."},)"
                    R"({"stage":"greedy"}])");
  REQUIRE(chain.ok());
  GenerateRequest r;
  r.set_text("Once upon a time");
  *r.mutable_sampling()->mutable_chain() = *chain;
  r.set_max_tokens(96);
  auto first = p.Generate(r);
  INFO(first.status.error_message());
  REQUIRE(first.status.ok());
  auto second = p.Generate(r);
  REQUIRE(second.status.ok());
  CHECK(first.Text() == second.Text());
  CHECK(second.messages.front().cache_hit());
  CHECK(std::regex_match(first.Text(), std::regex("[a-z]+( [a-z]+){0,5}\\.")));
}

TEST_CASE(
    "a malformed constraint is INVALID_ARGUMENT with its position, an "
    "unsupported one UNIMPLEMENTED",
    "[gateway][constraint][models]") {
  Pipeline p;
  REQUIRE_PIPELINE(p);
  auto bad = p.Generate(
      Constrained("Once", {{"stage", "regex"}, {"pattern", "(ab"}}, 1));
  CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad.status.error_message(), Catch::Contains("regex") &&
                                             Catch::Contains("missing ')'") &&
                                             Catch::Contains("offset 3"));
  auto backref = p.Generate(
      Constrained("Once", {{"stage", "regex"}, {"pattern", "(a)\\1"}}, 1));
  // Well-formed but beyond what a grammar can express: UNIMPLEMENTED.
  CHECK(backref.status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK_THAT(backref.status.error_message(), Catch::Contains("backreference"));
  auto empty = p.Generate(Constrained(
      "Once", {{"stage", "choice"}, {"choices", nlohmann::json::array()}}, 1));
  CHECK(empty.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // The service keeps serving.
  auto ok = p.Generate(
      Constrained("Once", {{"stage", "choice"}, {"choices", {"fine"}}}, 1));
  REQUIRE(ok.status.ok());
  CHECK(ok.Text() == "fine");
}

}  // namespace
}  // namespace fm::testing
