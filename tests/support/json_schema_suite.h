// The JSON-Schema-Test-Suite (draft 2020-12, MIT; fetched into
// ../shared/reference/json-schema-test-suite, or $FM_JSON_SCHEMA_SUITE):
// every schema with its instances, each marked valid or not; and what
// fmserve's JSON Schema support promises about them (known narrowings,
// refusals within the contract). Shared by the compiler's unit test and
// the gateway's CheckConstraint test.
#ifndef FM_TESTS_SUPPORT_JSON_SCHEMA_SUITE_H_
#define FM_TESTS_SUPPORT_JSON_SCHEMA_SUITE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fm::testing {

struct SuiteCase {
  std::string id;    // "file: group / test"
  std::string data;  // the instance as JSON text
  bool valid = false;
};

struct SuiteGroup {
  std::string file;  // "const.json", "format/date.json"
  std::string description;
  std::string schema;  // as JSON text
  std::vector<SuiteCase> cases;
};

// Every group of tests/draft2020-12/*.json, plus the optional format tests
// of the formats fmserve asserts; format.json's string cases are left out
// (there format is an annotation only). nullopt, with a skip reported,
// when the suite is not there.
std::optional<std::vector<SuiteGroup>> LoadJsonSchemaSuite();

// A valid instance fmserve rejects on purpose, each documented (sound:
// never a wrong acceptance).
bool KnownNarrowing(const std::string& id);

// A refusal's reason: its message up to " at <pointer>".
std::string RefusalReason(absl::string_view message);

// Whether refusing a schema for `reason` is within what fmserve promises:
// every keyword the structured-output contract lists compiles, except where
// soundness or a combination it cannot intersect stops it.
bool RefusalAllowed(const std::string& reason);

}  // namespace fm::testing

#endif  // FM_TESTS_SUPPORT_JSON_SCHEMA_SUITE_H_
