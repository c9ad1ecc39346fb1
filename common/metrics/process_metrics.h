// ProcessMetrics: the process_* series every Prometheus client library
// exports (resident and virtual memory, CPU seconds, open and maximum file
// descriptors, start time) plus process_threads, read from /proc at
// scrape time.
#ifndef FM_COMMON_METRICS_PROCESS_METRICS_H_
#define FM_COMMON_METRICS_PROCESS_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace fm::metrics {

class ProcessMetrics final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace fm::metrics

#endif  // FM_COMMON_METRICS_PROCESS_METRICS_H_
