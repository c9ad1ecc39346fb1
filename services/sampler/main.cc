// fm-sampler: sampling as a service. Profiles persist in --profiles.
#include "absl/flags/flag.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/sampler/profile_store.h"
#include "services/sampler/sampler_service.h"

ABSL_FLAG(std::string, profiles, "",
          "JSON file holding the sampling profiles; created when missing. "
          "Empty: profiles live in memory only.");
ABSL_FLAG(int, threads, 2, "Worker threads for sampling.");
ABSL_FLAG(int, max_top_logprobs, 20, "Most alternatives per token.");

int main(int argc, char** argv) {
  fm::ServerRunner::BlockShutdownSignals();
  fm::InitService("fm-sampler",
                  "fm-sampler [--profiles=PATH] [--listen=HOST:PORT]", argc,
                  argv);
  auto store = fm::sampler::ProfileStore::Open(absl::GetFlag(FLAGS_profiles));
  if (!store.ok()) {
    FM_LOG(ERROR) << "cannot open profiles: " << store.status();
    return 1;
  }
  FM_LOG(INFO) << "profiles: " << (*store)->List().size() << " in "
               << ((*store)->path().empty() ? "memory" : (*store)->path());
  fm::sampler::SamplerServiceLimits limits;
  limits.max_top_logprobs = absl::GetFlag(FLAGS_max_top_logprobs);
  fm::sampler::SamplerServiceImpl service(store->get(), limits,
                                          absl::GetFlag(FLAGS_threads));
  return fm::ServeUntilSignal("0.0.0.0:50053", &service,
                              fm::v1::SamplerService::service_full_name());
}
