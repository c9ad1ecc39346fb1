// fm-verifier: an example verifier for best_of selection (see
// regex_verifier.h). Health: grpc.health.v1 like every service.
#include <string>

#include "absl/flags/flag.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/verifier/regex_verifier.h"

ABSL_FLAG(std::string, pattern, "",
          "PCRE2 pattern; a candidate scores its number of matches.");
ABSL_FLAG(int, threads, 2, "Worker threads.");

int main(int argc, char** argv) {
  fm::ServerRunner::BlockShutdownSignals();
  fm::InitService("fm-verifier",
                  "fm-verifier --pattern=RE [--listen=HOST:PORT]", argc, argv);
  auto pattern = fm::text::Regex::Create(absl::GetFlag(FLAGS_pattern));
  if (absl::GetFlag(FLAGS_pattern).empty() || !pattern.ok()) {
    FM_LOG(ERROR) << "--pattern: "
                  << (pattern.ok() ? "a pattern is required"
                                   : pattern.status().ToString());
    return 2;
  }
  fm::verifier::RegexVerifier service(*std::move(pattern),
                                      absl::GetFlag(FLAGS_threads));
  return fm::ServeUntilSignal("0.0.0.0:50054", &service,
                              fm::v1::VerifierService::service_full_name());
}
