#include "services/gateway/gateway_metrics.h"

#include <prometheus/family.h>

#include "common/metrics/metrics_registry.h"
#include "services/gateway/gateway_service.h"

namespace fm::gateway {

const GatewayMetrics& GatewayMetrics::Get() {
  static const GatewayMetrics* const kMetrics = [] {
    prometheus::Registry& registry = *metrics::DefaultRegistry();
    auto* m = new GatewayMetrics();
    // 1 ms to 33 s: a cache hit to a long prompt's prefill.
    m->time_to_first_token =
        &prometheus::BuildHistogram()
             .Name("fm_generation_time_to_first_token_seconds")
             .Help(
                 "Time from a Generate or Chat call's arrival to its "
                 "first generated token.")
             .Register(registry)
             .Add({}, metrics::ExponentialBuckets(0.001, 2, 16));
    // 100 µs to 3.3 s.
    m->inter_token =
        &prometheus::BuildHistogram()
             .Name("fm_generation_inter_token_seconds")
             .Help(
                 "Time between consecutive generated tokens of one "
                 "sequence.")
             .Register(registry)
             .Add({}, metrics::ExponentialBuckets(0.0001, 2, 16));
    m->generated_tokens =
        &prometheus::BuildCounter()
             .Name("fm_generated_tokens_total")
             .Help("Tokens generated and streamed to clients.")
             .Register(registry)
             .Add({});
    auto& resumes = prometheus::BuildCounter()
                        .Name("fm_downstream_resumes_total")
                        .Help(
                            "Model or sampler sessions lost mid-generation and "
                            "rebuilt on a replica.")
                        .Register(registry);
    m->model_resumes = &resumes.Add({{"downstream", "model"}});
    m->sampler_resumes = &resumes.Add({{"downstream", "sampler"}});
    return m;
  }();
  return *kMetrics;
}

std::shared_ptr<metrics::CallbackMetrics> GatewayServiceMetrics(
    const GatewayServiceImpl& service) {
  auto m = std::make_shared<metrics::CallbackMetrics>();
  m->AddGauge("fm_active_generations",
              "Generate, Chat and Score calls holding a generation slot.",
              [&service] { return service.active_generations(); });
  m->AddGauge("fm_response_cache_entries",
              "Responses held by the exact response cache.",
              [&service] { return service.cache().entries(); });
  m->AddCounter("fm_response_cache_hits_total",
                "Generations served from the exact response cache.",
                [&service] { return service.cache().hits(); });
  m->AddCounter("fm_response_cache_misses_total",
                "Cacheable generations not found in the response cache.",
                [&service] { return service.cache().misses(); });
  return m;
}

}  // namespace fm::gateway
