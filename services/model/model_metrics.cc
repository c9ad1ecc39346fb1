#include "services/model/model_metrics.h"

#include <prometheus/family.h>

#include "common/metrics/metrics_registry.h"
#include "services/model/model_service.h"

namespace fm::model {

const ModelMetrics& ModelMetrics::Get() {
  static const ModelMetrics* const kMetrics = [] {
    prometheus::Registry& registry = *metrics::DefaultRegistry();
    auto* m = new ModelMetrics();
    // 50 µs (a tiny model's decode step) to 13 s (a long prefill).
    m->forward_seconds =
        &prometheus::BuildHistogram()
             .Name("fm_model_forward_seconds")
             .Help("Time of one batched forward pass.")
             .Register(registry)
             .Add({}, metrics::ExponentialBuckets(0.00005, 2, 19));
    m->batch_sequences = &prometheus::BuildHistogram()
                              .Name("fm_model_batch_sequences")
                              .Help("Sequences in one batched forward pass.")
                              .Register(registry)
                              .Add({}, metrics::ExponentialBuckets(1, 2, 9));
    m->batch_tokens = &prometheus::BuildHistogram()
                           .Name("fm_model_batch_tokens")
                           .Help("Tokens appended by one batched forward pass.")
                           .Register(registry)
                           .Add({}, metrics::ExponentialBuckets(1, 2, 14));
    m->processed_tokens =
        &prometheus::BuildCounter()
             .Name("fm_model_processed_tokens_total")
             .Help("Tokens run through the model (prompts and generated).")
             .Register(registry)
             .Add({});
    return m;
  }();
  return *kMetrics;
}

std::shared_ptr<metrics::CallbackMetrics> ModelServiceMetrics(
    const ModelServiceImpl& service) {
  auto m = std::make_shared<metrics::CallbackMetrics>();
  m->AddGauge("fm_model_sessions", "Open Session streams.",
              [&service] { return service.active_sessions(); });
  m->AddGauge("fm_model_sequences",
              "Sequences held in the KV caches of open sessions.",
              [&service] { return service.active_sequences(); });
  m->AddGauge(
      "fm_model_kv_cache_bytes", "KV-cache memory allocated by open sessions.",
      [&service] { return static_cast<double>(service.kv_cache_bytes()); });
  m->AddCounter(
      "fm_model_sessions_opened_total", "Session streams opened.",
      [&service] { return static_cast<double>(service.sessions_opened()); });
  m->AddCounter(
      "fm_model_sessions_closed_total", "Session streams closed.",
      [&service] { return static_cast<double>(service.sessions_closed()); });
  return m;
}

}  // namespace fm::model
