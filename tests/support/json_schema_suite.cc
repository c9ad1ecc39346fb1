// LoadJsonSchemaSuite and the contract's expectations of it.
#include "tests/support/json_schema_suite.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

std::string SuiteDir() {
  if (const char* dir = std::getenv("FM_JSON_SCHEMA_SUITE")) return dir;
  return SourceDir() + "/../shared/reference/json-schema-test-suite";
}

}  // namespace

bool KnownNarrowing(const std::string& id) {
  static const auto* known = new std::set<std::string>{
      // A number under a bound or a constant is written without an
      // exponent: its spellings with one (0.9e1, 90e-1, ...) tie a count of
      // digits to the exponent's value, which no grammar can express. The
      // suite's 9007199254740992.0 serialises as 9.007199254740992e+15.
      "const.json: float and integers are equal up to 64-bit representation "
      "limits / float is valid",
  };
  return known->count(id) > 0;
}

bool RefusalAllowed(const std::string& reason) {
  static const auto* promised =
      new std::set<std::string>{"type",
                                "enum",
                                "const",
                                "properties",
                                "required",
                                "additionalProperties",
                                "items",
                                "prefixItems",
                                "minItems",
                                "maxItems",
                                "minLength",
                                "maxLength",
                                "pattern",
                                "format",
                                "minimum",
                                "maximum",
                                "exclusiveMinimum",
                                "exclusiveMaximum",
                                "anyOf",
                                "oneOf",
                                "allOf",
                                "$ref",
                                "$defs",
                                "nullable"};
  static const auto* formats = new std::set<std::string>{
      "\"date\"", "\"time\"", "\"date-time\"", "\"email\"",
      "\"uuid\"", "\"uri\"",  "\"ipv4\"",      "\"ipv6\""};
  for (const char* sound : {"whose branches", "together with",
                            "to another document", "the pattern"}) {
    if (absl::StrContains(reason, sound)) return true;
  }
  const size_t open = reason.find('\'');
  if (open != std::string::npos) {
    const size_t close = reason.find('\'', open + 1);
    return !promised->count(reason.substr(open + 1, close - open - 1));
  }
  const size_t format = reason.find("format ");
  if (format != std::string::npos) {
    return !formats->count(reason.substr(format + 7));
  }
  return true;
}

std::string RefusalReason(absl::string_view message) {
  return std::string(message.substr(0, message.find(" at ")));
}

std::optional<std::vector<SuiteGroup>> LoadJsonSchemaSuite() {
  namespace fs = std::filesystem;
  using Json = nlohmann::ordered_json;  // a schema keeps its key order
  const fs::path root = fs::path(SuiteDir()) / "tests" / "draft2020-12";
  if (!fs::exists(root)) {
    ReportSkip("the JSON-Schema-Test-Suite is not at " + root.string() +
               " (set FM_JSON_SCHEMA_SUITE)");
    return std::nullopt;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  // Formats fmserve asserts: their optional (assertion) tests apply.
  for (const char* f :
       {"date", "time", "date-time", "email", "ipv4", "ipv6", "uuid", "uri"}) {
    files.push_back(root / "optional" / "format" / absl::StrCat(f, ".json"));
  }
  std::sort(files.begin(), files.end());
  std::vector<SuiteGroup> groups;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    const Json suite = Json::parse(in);
    const std::string name = file.parent_path().filename() == "format"
                                 ? "format/" + file.filename().string()
                                 : file.filename().string();
    // format.json checks format as an annotation only; fmserve asserts
    // formats (the optional tests check that), so its string cases are
    // left out; the non-string ones stay.
    const bool annotation_only = name == "format.json";
    for (const Json& group : suite) {
      SuiteGroup g;
      g.file = name;
      g.description = group["description"].get<std::string>();
      g.schema = group["schema"].dump();
      for (const Json& test : group["tests"]) {
        if (annotation_only && test["data"].is_string()) continue;
        g.cases.push_back({absl::StrCat(name, ": ", g.description, " / ",
                                        test["description"].get<std::string>()),
                           test["data"].dump(), test["valid"].get<bool>()});
      }
      groups.push_back(std::move(g));
    }
  }
  return groups;
}

}  // namespace fm::testing
