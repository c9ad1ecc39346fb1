// fm-model's event metrics (each batched forward pass: its time, sequences
// and tokens) on the process registry, and the scrape-time series read from
// the running service (sessions, sequences, KV-cache bytes).
#ifndef FM_SERVICES_MODEL_MODEL_METRICS_H_
#define FM_SERVICES_MODEL_MODEL_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <memory>

#include "common/metrics/callback_metrics.h"

namespace fm::model {

class ModelServiceImpl;

struct ModelMetrics {
  prometheus::Histogram* forward_seconds;  // one batched Forward
  prometheus::Histogram* batch_sequences;  // sequences in it
  prometheus::Histogram* batch_tokens;     // tokens appended by it
  prometheus::Counter* processed_tokens;   // prompt and generated tokens

  // The process's instance on metrics::DefaultRegistry().
  static const ModelMetrics& Get();
};

// Open sessions and sequences, KV-cache bytes, sessions opened and closed,
// read from `service` (which must outlive the collectable's scrapes).
std::shared_ptr<metrics::CallbackMetrics> ModelServiceMetrics(
    const ModelServiceImpl& service);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_MODEL_METRICS_H_
