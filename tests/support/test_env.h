// Where tests find the real model files and the built binaries, and how a
// test that lacks them skips visibly.
#ifndef FM_TESTS_SUPPORT_TEST_ENV_H_
#define FM_TESTS_SUPPORT_TEST_ENV_H_

#include <string>

namespace fm::testing {

// The directory named by FM_MODELS, or "" when unset or missing.
std::string ModelsDir();

// ModelsDir()/name, or "" when the directory or the file is missing.
std::string ModelFile(const std::string& name);

// Directory of the built service binaries (FM_BIN_DIR, set by CTest).
std::string BinDir();

// The repository's root (FM_SOURCE_DIR, else the tree the tests were
// built from), for tests that use its files (docker-compose.yml, deploy/).
std::string SourceDir();

// The npm packages scripts/oracle_setup.sh installed into
// BinDir()/../`name` (a CTest fixture): that directory, or "" with `*why`
// set when it is missing or could not be installed (npm unreachable).
std::string InstalledNodePackages(const std::string& name, std::string* why);

// A fresh temporary directory, removed at process exit.
std::string MakeTempDir();

// Prints the marker CTest's SKIP_REGULAR_EXPRESSION recognises, so the test
// is reported as skipped (never as silently passed).
void ReportSkip(const std::string& why);

}  // namespace fm::testing

// Returns from the current TEST_CASE (reported as skipped) when `path` is
// empty, i.e. the model file is not available.
#define FM_REQUIRE_FILE_OR_SKIP(path, name)                                \
  do {                                                                     \
    if ((path).empty()) {                                                  \
      ::fm::testing::ReportSkip(std::string("model file ") + (name) +      \
                                " not found: set FM_MODELS to the models " \
                                "directory");                              \
      return;                                                              \
    }                                                                      \
  } while (0)

#endif  // FM_TESTS_SUPPORT_TEST_ENV_H_
