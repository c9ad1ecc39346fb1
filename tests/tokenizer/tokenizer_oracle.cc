// OracleDir and RunOracle.
#include "tests/tokenizer/tokenizer_oracle.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {

std::string OracleDir(std::string* why) {
  return InstalledNodePackages("oracle", why);
}

absl::StatusOr<nlohmann::json> RunOracle(const std::string& dir,
                                         const nlohmann::json& job) {
  const std::string tmp = MakeTempDir();
  const std::string in = tmp + "/job.json", out = tmp + "/out.json";
  std::ofstream(in) << job.dump();
  const CommandResult r =
      RunCommand({"/usr/bin/env", "node", dir + "/oracle.mjs", in, out}, "",
                 /*timeout_ms=*/300000);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("oracle exited with ", r.exit_code,
                                            ": ...",
                                            r.err.substr(r.err.size() > 1500
                                                             ? r.err.size() - 1500
                                                             : 0)));
  }
  std::ifstream answer(out);
  std::stringstream text;
  text << answer.rdbuf();
  nlohmann::json parsed = nlohmann::json::parse(text.str(), nullptr, false);
  if (parsed.is_discarded()) return absl::InternalError("oracle output is not JSON");
  return parsed;
}

}  // namespace fm::testing
