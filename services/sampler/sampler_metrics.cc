#include "services/sampler/sampler_metrics.h"

#include <prometheus/family.h>

#include "common/metrics/metrics_registry.h"
#include "services/sampler/sampler_service.h"

namespace fm::sampler {
namespace {

prometheus::Family<prometheus::Histogram>& StageFamily() {
  static auto* const kFamily = &prometheus::BuildHistogram()
                                    .Name("fm_sampler_stage_seconds")
                                    .Help(
                                        "Time one sampler stage took in one "
                                        "sampling step, by stage.")
                                    .Register(*metrics::DefaultRegistry());
  return *kFamily;
}

}  // namespace

void StageSeconds::Record(size_t index, absl::string_view stage,
                          double seconds) {
  if (index >= by_index_.size()) by_index_.resize(index + 1);
  auto& [name, histogram] = by_index_[index];
  if (histogram == nullptr || name != stage) {
    // 1 µs (a greedy argmax on a small vocabulary) to 33 ms (a grammar
    // mask over a large one).
    static const auto* const kBuckets =
        new prometheus::Histogram::BucketBoundaries(
            metrics::ExponentialBuckets(1e-6, 2, 16));
    name = std::string(stage);
    histogram = &StageFamily().Add({{"stage", name}}, *kBuckets);
  }
  histogram->Observe(seconds);
}

std::shared_ptr<metrics::CallbackMetrics> SamplerServiceMetrics(
    const SamplerServiceImpl& service) {
  auto m = std::make_shared<metrics::CallbackMetrics>();
  m->AddGauge(
      "fm_sampler_sessions", "Open sampler Session streams.",
      [&service] { return static_cast<double>(service.active_sessions()); });
  m->AddCounter(
      "fm_sampler_sessions_opened_total", "Sampler Session streams opened.",
      [&service] { return static_cast<double>(service.sessions_opened()); });
  m->AddCounter(
      "fm_sampler_sample_calls_total", "Unary Sample calls.",
      [&service] { return static_cast<double>(service.sample_calls()); });
  m->AddCounter("fm_sampler_tokens_total",
                "Tokens sampled, in sessions and Sample calls.", [&service] {
                  return static_cast<double>(service.tokens_sampled());
                });
  m->AddGauge("fm_sampler_profiles", "Sampler profiles stored.", [&service] {
    return static_cast<double>(service.profile_count());
  });
  return m;
}

}  // namespace fm::sampler
