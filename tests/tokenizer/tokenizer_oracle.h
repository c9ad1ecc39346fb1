// The tokenizer oracle: @lenml/tokenizers (an independent JavaScript
// implementation of Hugging Face tokenizers) run with the machine's
// Node.js on a JSON job (tests/tokenizer/oracle/oracle.mjs). Installed by
// scripts/oracle_setup.sh, which CTest runs first as a fixture.
#ifndef FM_TESTS_TOKENIZER_TOKENIZER_ORACLE_H_
#define FM_TESTS_TOKENIZER_TOKENIZER_ORACLE_H_

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace fm::testing {

// The installed oracle's directory (FM_BIN_DIR/../oracle); "" with
// `*why` set when it is not installed (npm unreachable).
std::string OracleDir(std::string* why);

// Runs the oracle on `job` (see oracle.mjs for its fields).
absl::StatusOr<nlohmann::json> RunOracle(const std::string& dir,
                                         const nlohmann::json& job);

}  // namespace fm::testing

// Returns from the current TEST_CASE, reported as skipped, when the oracle
// is not installed; fails instead under FM_REQUIRE_ORACLE=1 (CI).
#define FM_ORACLE_DIR_OR_SKIP(dir)                                         \
  std::string dir;                                                         \
  do {                                                                     \
    std::string why;                                                       \
    dir = ::fm::testing::OracleDir(&why);                                  \
    if (dir.empty()) {                                                     \
      const char* required = std::getenv("FM_REQUIRE_ORACLE");             \
      if (required != nullptr && std::string(required) == "1") {           \
        FAIL("tokenizer oracle not installed: " << why);                   \
      }                                                                    \
      ::fm::testing::ReportSkip("tokenizer oracle not installed: " + why); \
      return;                                                              \
    }                                                                      \
  } while (0)

#endif  // FM_TESTS_TOKENIZER_TOKENIZER_ORACLE_H_
