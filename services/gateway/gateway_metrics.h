// The gateway's event metrics (time to first token, per-token latency,
// tokens generated, downstream resumes) on the process registry, and the
// scrape-time series read from the running service.
#ifndef FM_SERVICES_GATEWAY_GATEWAY_METRICS_H_
#define FM_SERVICES_GATEWAY_GATEWAY_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <memory>

#include "common/metrics/callback_metrics.h"

namespace fm::gateway {

class GatewayServiceImpl;

struct GatewayMetrics {
  // From the call's arrival to its first generated token, as the client
  // sees it (a response-cache hit included).
  prometheus::Histogram* time_to_first_token;
  // Between consecutive tokens of one sequence; a message carrying k
  // tokens counts k tokens of 1/k of the gap each.
  prometheus::Histogram* inter_token;
  prometheus::Counter* generated_tokens;
  // A model or sampler session lost mid-generation and rebuilt.
  prometheus::Counter* model_resumes;
  prometheus::Counter* sampler_resumes;

  // The process's instance on metrics::DefaultRegistry().
  static const GatewayMetrics& Get();
};

// Active generations and the response cache, read from `service` (which
// must outlive the returned collectable's scrapes).
std::shared_ptr<metrics::CallbackMetrics> GatewayServiceMetrics(
    const GatewayServiceImpl& service);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GATEWAY_METRICS_H_
