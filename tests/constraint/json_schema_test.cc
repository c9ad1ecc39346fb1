// JSON Schema constraints against outside truth: the JSON-Schema-Test-Suite
// (draft 2020-12, MIT, ../shared/reference/json-schema-test-suite), whose
// every instance says whether it is valid; exact decimal ranges against
// arithmetic on every number of a grid; and the errors and limits of
// hostile schemas.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/constraint/decimal_range.h"
#include "common/constraint/grammar_automaton.h"
#include "common/constraint/json_schema_compiler.h"
#include "common/constraint/regex_compiler.h"
#include "common/constraint/string_formats.h"
#include "tests/support/json_schema_suite.h"
#include "tests/support/test_env.h"

namespace fm::constraint {
namespace {

using Json = nlohmann::ordered_json;

bool Matches(const ByteGrammar& g, const std::string& text) {
  GrammarAutomaton a(g);
  int32_t s = a.initial();
  for (char c : text) {
    s = a.Next(s, static_cast<uint8_t>(c));
    if (s == GrammarAutomaton::kDead) return false;
  }
  return a.Accepting(s);
}

TEST_CASE("JSON-Schema-Test-Suite: valid instances accepted, invalid rejected",
          "[json_schema]") {
  const std::optional<std::vector<testing::SuiteGroup>> suite =
      testing::LoadJsonSchemaSuite();
  if (!suite) return;
  int supported = 0, checked = 0;
  std::map<std::string, int> unsupported;  // first words of the reason
  std::vector<std::string> wrong_accepts, wrong_rejects, narrowed;
  for (const testing::SuiteGroup& group : *suite) {
    absl::StatusOr<ByteGrammar> grammar = CompileJsonSchema(group.schema);
    if (!grammar.ok()) {
      const absl::Status& s = grammar.status();
      INFO(group.file << ": " << group.description << ": " << s);
      if (absl::IsInvalidArgument(s) &&
          absl::StrContains(s.message(), "no JSON value satisfies")) {
        for (const testing::SuiteCase& c : group.cases) CHECK_FALSE(c.valid);
        ++supported;
        continue;
      }
      // Refused, never guessed: the reason names a keyword's place.
      CHECK((absl::IsUnimplemented(s) || absl::IsResourceExhausted(s) ||
             absl::IsInvalidArgument(s)));
      CHECK(absl::StrContains(s.message(), "#"));
      ++unsupported[testing::RefusalReason(s.message())];
      continue;
    }
    ++supported;
    for (const testing::SuiteCase& c : group.cases) {
      const bool accepted = Matches(*grammar, c.data);
      ++checked;
      if (accepted && !c.valid) wrong_accepts.push_back(c.id + "  " + c.data);
      if (!accepted && c.valid) {
        (testing::KnownNarrowing(c.id) ? narrowed : wrong_rejects)
            .push_back(c.id + "  " + c.data);
      }
    }
  }
  std::ostringstream report;
  report << suite->size() << " schemas, " << supported << " compiled, "
         << checked << " instances checked, " << narrowed.size()
         << " known narrowings; refused:";
  for (const auto& [reason, n] : unsupported) {
    report << "\n  " << n << " x " << reason;
  }
  WARN(report.str());
  for (const std::string& w : wrong_accepts) UNSCOPED_INFO("accepted: " << w);
  CHECK(wrong_accepts.empty());
  for (const std::string& w : wrong_rejects) UNSCOPED_INFO("rejected: " << w);
  CHECK(wrong_rejects.empty());
  for (const auto& [reason, n] : unsupported) {
    INFO("refused " << n << " schemas: " << reason);
    CHECK(testing::RefusalAllowed(reason));
  }
  // The suite tests every keyword; its part within fmserve's contract.
  CHECK(supported * 10 >= static_cast<int>(suite->size()) * 4);
}

// Every number on a grid (-3.00 .. 3.00, step 0.01, in several spellings)
// against bounds on the same grid, by arithmetic.
TEST_CASE("the benchmark's real-world schemas all compile", "[json_schema]") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::path(testing::SourceDir()) / "bench" / "constraint" / "schemas";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto g = CompileJsonSchema(text.str());
    INFO(entry.path().string() << ": " << g.status());
    CHECK(g.ok());
    ++n;
  }
  CHECK(n >= 10);
}

TEST_CASE("number ranges are exact for decimal bounds", "[json_schema]") {
  const std::vector<std::string> bounds = {"-2.5", "-1", "-0.01", "0",
                                           "0.1",  "1",  "1.25",  "2.05"};
  auto spell = [](int hundredths) {
    std::vector<std::string> out;
    const bool neg = hundredths < 0;
    const int a = std::abs(hundredths);
    const std::string sign = neg ? "-" : "";
    out.push_back(absl::StrFormat("%s%d.%02d", sign, a / 100, a % 100));
    if (a % 10 == 0) {
      out.push_back(absl::StrFormat("%s%d.%d", sign, a / 100, (a % 100) / 10));
    }
    if (a % 100 == 0) out.push_back(absl::StrFormat("%s%d", sign, a / 100));
    return out;
  };
  auto hundredths = [](const std::string& s) {
    return static_cast<int>(std::lround(std::stod(s) * 100));
  };
  for (bool integer : {false, true}) {
    for (size_t i = 0; i <= bounds.size(); ++i) {
      for (size_t j = 0; j <= bounds.size(); ++j) {
        for (int ex = 0; ex < 4; ++ex) {
          std::optional<DecimalBound> lo, hi;
          if (i < bounds.size()) {
            lo = DecimalBound{*Decimal::Parse(bounds[i]), (ex & 1) != 0};
          }
          if (j < bounds.size()) {
            hi = DecimalBound{*Decimal::Parse(bounds[j]), (ex & 2) != 0};
          }
          std::optional<std::string> regex = NumberRangeRegex(lo, hi, integer);
          absl::StatusOr<ByteGrammar> g =
              regex ? CompileRegex(*regex) : absl::NotFoundError("empty");
          INFO("integer " << integer << " bounds " << i << " " << j << " " << ex
                          << " regex " << regex.value_or("(none)"));
          if (regex) REQUIRE(g.ok());
          for (int v = -300; v <= 300; ++v) {
            bool in = true;
            if (lo) {
              const int l = hundredths(bounds[i]);
              in = in && (lo->exclusive ? v > l : v >= l);
            }
            if (hi) {
              const int h = hundredths(bounds[j]);
              in = in && (hi->exclusive ? v < h : v <= h);
            }
            if (integer) in = in && v % 100 == 0;
            for (const std::string& text : spell(v)) {
              INFO(text);
              CHECK((regex && Matches(*g, text)) == in);
            }
          }
        }
      }
    }
  }
}

absl::Status CompileStatus(const std::string& schema) {
  return CompileJsonSchema(schema).status();
}

TEST_CASE("unsupported keywords are named with their JSON pointer",
          "[json_schema]") {
  absl::Status s = CompileStatus(
      R"({"properties": {"a": {"type": "object", "not": {"type": "null"}}}})");
  CHECK(absl::IsUnimplemented(s));
  CHECK_THAT(std::string(s.message()),
             Catch::Contains("'not'") && Catch::Contains("#/properties/a/not"));
  s = CompileStatus(R"({"$defs": {"x": {"patternProperties": {}}},
                        "items": {"$ref": "#/$defs/x"}})");
  CHECK(absl::IsUnimplemented(s));
  CHECK_THAT(std::string(s.message()),
             Catch::Contains("#/$defs/x/patternProperties"));
  s = CompileStatus(R"({"oneOf": [{"type": "integer"}, {"minimum": 2}]})");
  CHECK(absl::IsUnimplemented(s));
  CHECK_THAT(std::string(s.message()), Catch::Contains("#/oneOf"));
  s = CompileStatus(R"({"format": "hostname-ish"})");
  CHECK(absl::IsUnimplemented(s));
  s = CompileStatus(R"({"pattern": "(a)\\1"})");
  CHECK(absl::IsUnimplemented(s));
  CHECK_THAT(std::string(s.message()),
             Catch::Contains("#/pattern") && Catch::Contains("backreference"));
}

TEST_CASE("every known format has a grammar, and all build at start",
          "[json_schema]") {
  REQUIRE(PrebuildStringFormats().ok());
  for (absl::string_view format : kStringFormats) {
    CAPTURE(format);
    CHECK(StringFormatRegex(format).has_value());
    CHECK(CompileStatus(
              absl::StrCat(R"({"type": "string", "format": ")", format, "\"}"))
              .ok());
  }
  CHECK_FALSE(StringFormatRegex("hostname").has_value());
}

TEST_CASE(
    "malformed and unsatisfiable schemas are INVALID_ARGUMENT with "
    "their place",
    "[json_schema]") {
  auto message = [](const std::string& schema) {
    absl::Status s = CompileStatus(schema);
    CHECK(absl::IsInvalidArgument(s));
    return std::string(s.message());
  };
  // A number beyond double's range is refused, not thrown (found by the
  // fuzzer).
  CHECK_THAT(message(R"({"maximum": 4E444})"), Catch::Contains("not usable"));
  CHECK_THAT(message(R"({"type": "strin"})"), Catch::Contains("#/type"));
  CHECK_THAT(message(R"({"minLength": -1})"), Catch::Contains("#/minLength"));
  CHECK_THAT(message(R"({"pattern": "a(b"})"),
             Catch::Contains("#/pattern") && Catch::Contains("offset"));
  CHECK_THAT(message(R"({"type": "object",)"), Catch::Contains("at byte"));
  CHECK_THAT(message(R"({"$ref": "#/$defs/missing"})"),
             Catch::Contains("#/$defs/missing"));
  CHECK_THAT(message(R"({"type": "string", "minLength": 3, "maxLength": 2})"),
             Catch::Contains("no JSON value satisfies"));
  CHECK_THAT(message(R"({"type": "integer", "minimum": 1.5, "maximum": 1.9})"),
             Catch::Contains("no JSON value satisfies"));
  CHECK_THAT(message(R"({"$defs": {"a": {"$ref": "#/$defs/b"}},
                         "$ref": "#/$defs/a"})"),
             Catch::Contains("#/$defs/b"));
  CHECK_THAT(message(R"({"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}},
                         "$ref": "#/$defs/a"})"),
             Catch::Contains("cycle"));
}

TEST_CASE("recursive schemas compile to recursive grammars", "[json_schema]") {
  auto g = CompileJsonSchema(R"({
    "$defs": {"node": {"type": "object",
      "properties": {"value": {"type": "integer"},
                     "next": {"anyOf": [{"$ref": "#/$defs/node"},
                                        {"type": "null"}]}},
      "required": ["value", "next"], "additionalProperties": false}},
    "$ref": "#/$defs/node"})");
  REQUIRE(g.ok());
  CHECK(Matches(*g, R"({"value":1,"next":null})"));
  CHECK(Matches(*g, R"({"next":{"value":2,"next":null},"value":1})"));
  CHECK(Matches(
      *g,
      R"({"value": 1, "next": {"value": 2, "next": {"value": 3, "next": null}}})"));
  CHECK_FALSE(Matches(*g, R"({"value":1})"));
  CHECK_FALSE(Matches(*g, R"({"value":1,"next":{"value":"x","next":null}})"));
  CHECK_FALSE(Matches(*g, R"({"value":1,"next":null,"extra":0})"));
}

TEST_CASE("hostile schemas hit a named limit, fast", "[json_schema]") {
  auto exhausted = [](const std::string& schema) {
    absl::Status s = CompileStatus(schema);
    CHECK(absl::IsResourceExhausted(s));
    return std::string(s.message());
  };
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"items":)";
  deep += "true";
  for (int i = 0; i < 100; ++i) deep += "}";
  CHECK_THAT(exhausted(deep), Catch::Contains("limit"));
  CHECK_THAT(exhausted(R"({"type": "string", "maxLength": 1000000000})"),
             Catch::Contains("#/maxLength"));
  // allOf of anyOfs: 2^12 combinations.
  std::string product = R"({"allOf": [)";
  for (int i = 0; i < 12; ++i) {
    if (i > 0) product += ",";
    product += absl::StrCat(R"({"anyOf": [{"minimum": )", i,
                            R"(}, {"type": "string"}]})");
  }
  product += "]}";
  CHECK_THAT(exhausted(product), Catch::Contains("alternatives"));
  // A huge enum is one trie: it compiles and stays exact.
  Json values = Json::array();
  for (int i = 0; i < 20000; ++i) values.push_back(absl::StrCat("v", i * 7));
  Json schema = {{"enum", values}};
  auto g = CompileJsonSchema(schema.dump());
  REQUIRE(g.ok());
  CHECK(Matches(*g, "\"v13993\""));
  CHECK_FALSE(Matches(*g, "\"v13994\""));
}

TEST_CASE("properties: any order, required tracked, other names checked",
          "[json_schema]") {
  auto g = CompileJsonSchema(R"({"type": "object",
      "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
      "required": ["a", "b"],
      "additionalProperties": {"type": "boolean"}})");
  REQUIRE(g.ok());
  CHECK(Matches(*g, R"({"a":1,"b":"x"})"));
  CHECK(Matches(*g, R"({"b":"x","a":1})"));
  CHECK(Matches(*g, R"({"b":"x","c":true,"a":1})"));
  CHECK(Matches(*g, R"({"ab":false,"b":"x","a":1})"));
  CHECK_FALSE(Matches(*g, R"({"a":1})"));
  CHECK_FALSE(Matches(*g, R"({"a":1,"b":"x","c":1})"));
  CHECK_FALSE(Matches(*g, R"({"a":"1","b":"x"})"));
  // A declared name at most once: a model repeating it need never end.
  CHECK_FALSE(Matches(*g, R"({"a":1,"b":"x","a":2})"));
  CHECK(Matches(*g, R"({"a":1,"c":true,"b":"x","c":false})"));
}

TEST_CASE("many declared properties come in their declared order",
          "[json_schema]") {
  // Seven declared (beyond max_any_order = 6): in order, optional ones
  // skipped, required ones never.
  auto g = CompileJsonSchema(R"({"type": "object",
      "properties": {"p0": {}, "p1": {}, "p2": {}, "p3": {}, "p4": {},
                     "p5": {}, "p6": {}},
      "required": ["p5", "p1", "q"], "additionalProperties": {"type": "integer"}})");
  REQUIRE(g.ok());
  CHECK(Matches(*g, R"({"p1":1,"p5":5,"q":0})"));
  CHECK(Matches(*g,
                R"({"p0":0,"p1":1,"p2":2,"p3":3,"p4":4,"p5":5,"p6":6,"q":0})"));
  CHECK(Matches(*g, R"({"p1":1,"p4":4,"p5":5,"p6":6,"q":0})"));
  CHECK_FALSE(Matches(*g, R"({"p5":5,"p1":1,"q":0})"));  // out of order
  CHECK_FALSE(Matches(*g, R"({"p1":1,"q":0})"));         // p5 missing
  CHECK_FALSE(Matches(*g, R"({"p1":1,"p1":1,"p5":5,"q":0})"));
  CHECK_FALSE(Matches(*g, R"({"p1":1,"p5":5})"));  // q missing
  JsonSchemaOptions wide;
  wide.limits.max_any_order = 8;
  auto any = CompileJsonSchema(R"({"type": "object",
      "properties": {"p0": {}, "p1": {}, "p2": {}, "p3": {}, "p4": {},
                     "p5": {}, "p6": {}},
      "required": ["p5", "p1", "q"], "additionalProperties": {"type": "integer"}})",
                               wide);
  REQUIRE(any.ok());
  CHECK(Matches(*any, R"({"q":0,"p5":5,"p1":1})"));
}

}  // namespace
}  // namespace fm::constraint
