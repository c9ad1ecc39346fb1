// fm-sampler: sampling as a service. Profiles persist in --profiles.
#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "common/constraint/json_schema_compiler.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/sampler/profile_store.h"
#include "services/sampler/sampler_metrics.h"
#include "services/sampler/sampler_service.h"
#include "services/sampler/vocabulary_source.h"

ABSL_FLAG(std::string, profiles, "",
          "JSON file holding the sampling profiles; created when missing. "
          "Empty: profiles live in memory only.");
ABSL_FLAG(absl::Duration, profiles_refresh, absl::Seconds(1),
          "How often --profiles is checked for changes written by other "
          "replicas sharing the file; 'inf' = never.");
ABSL_FLAG(int, threads, 2, "Worker threads for sampling.");
ABSL_FLAG(std::string, tokenizer, "",
          "fm-tokenizer address (HOST:PORT[,...]) whose vocabulary the "
          "constraint stages (regex, choice) compile against; empty: "
          "constraints are refused.");
ABSL_FLAG(absl::Duration, vocabulary_refresh, absl::Seconds(10),
          "How often the tokenizer's identity is checked (and its "
          "vocabulary reloaded when it changed).");
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
  const absl::Duration refresh = absl::GetFlag(FLAGS_profiles_refresh);
  if (refresh <= absl::ZeroDuration()) {
    FM_LOG(ERROR) << "--profiles_refresh=" << absl::FormatDuration(refresh)
                  << " must be > 0 (or inf for never)";
    return 2;
  }
  if (refresh != absl::InfiniteDuration()) {
    fm::sampler::ProfileStore* profiles = store->get();
    profiles->StartWatching(refresh, [profiles](const absl::Status& s) {
      if (s.ok()) {
        FM_LOG(INFO) << "profiles reloaded from " << profiles->path() << ": "
                     << profiles->List().size();
      } else {
        FM_LOG(ERROR) << "profiles not reloaded: " << s;
      }
    });
  }
  // The format grammars (date-time's is large) are built now, not by the
  // first request whose schema names one.
  const absl::Time formats_start = absl::Now();
  if (absl::Status s = fm::constraint::PrebuildStringFormats(); !s.ok()) {
    FM_LOG(ERROR) << "JSON Schema formats: " << s;
    return 1;
  }
  FM_LOG(INFO) << "JSON Schema format grammars built in "
               << absl::FormatDuration(absl::Now() - formats_start);
  fm::sampler::SamplerServiceLimits limits;
  limits.max_top_logprobs = absl::GetFlag(FLAGS_max_top_logprobs);
  std::unique_ptr<fm::sampler::VocabularySource> vocabularies;
  if (const std::string tokenizer = absl::GetFlag(FLAGS_tokenizer);
      !tokenizer.empty()) {
    const absl::Duration period = absl::GetFlag(FLAGS_vocabulary_refresh);
    if (period < absl::Seconds(1)) {
      FM_LOG(ERROR) << "--vocabulary_refresh=" << absl::FormatDuration(period)
                    << " must be >= 1s";
      return 2;
    }
    auto connected =
        fm::sampler::VocabularySource::Connect(tokenizer, {}, period);
    if (!connected.ok()) {
      FM_LOG(ERROR) << "--tokenizer=" << tokenizer << ": "
                    << connected.status();
      return 2;
    }
    vocabularies = *std::move(connected);
  }
  fm::sampler::SamplerServiceImpl service(
      store->get(), limits, absl::GetFlag(FLAGS_threads), vocabularies.get());
  return fm::ServeUntilSignal("0.0.0.0:50053", &service,
                              fm::v1::SamplerService::service_full_name(),
                              {fm::sampler::SamplerServiceMetrics(service)});
}
