// The process's metrics registry: counters and histograms that services
// update as events happen (time to first token, batch sizes, stage times).
// One registry per process, as Prometheus client libraries have, so that
// instrumentation deep in a service needs no plumbing; values that already
// live in a service (active sessions, cache entries) are read at scrape
// time instead, through CallbackMetrics.
#ifndef FM_COMMON_METRICS_METRICS_REGISTRY_H_
#define FM_COMMON_METRICS_METRICS_REGISTRY_H_

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace fm::metrics {

// The registry MetricsServer exposes; never null, lives for the process.
const std::shared_ptr<prometheus::Registry>& DefaultRegistry();

// `count` bucket bounds start, start*factor, start*factor^2, ... (the
// +Inf bucket is implicit).
prometheus::Histogram::BucketBoundaries ExponentialBuckets(double start,
                                                           double factor,
                                                           int count);

}  // namespace fm::metrics

#endif  // FM_COMMON_METRICS_METRICS_REGISTRY_H_
