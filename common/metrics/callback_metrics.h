// CallbackMetrics: gauges and counters whose values already live in a
// service (active generations, model sessions, KV-cache bytes, cache hits),
// read when Prometheus scrapes instead of being mirrored into a second copy
// that could drift.
#ifndef FM_COMMON_METRICS_CALLBACK_METRICS_H_
#define FM_COMMON_METRICS_CALLBACK_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace fm::metrics {

// A family of one unlabelled sample: `value` as a counter or a gauge.
prometheus::MetricFamily OneValueFamily(std::string name, std::string help,
                                        prometheus::MetricType type,
                                        double value);

class CallbackMetrics final : public prometheus::Collectable {
 public:
  // `read` is called on a scrape thread: it must be thread-safe and must
  // not block (an atomic load, a short lock). Names follow Prometheus'
  // conventions (base units, _total for counters).
  void AddGauge(std::string name, std::string help,
                std::function<double()> read);
  void AddCounter(std::string name, std::string help,
                  std::function<double()> read);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    std::function<double()> read;
  };
  void Add(Entry entry);

  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fm::metrics

#endif  // FM_COMMON_METRICS_CALLBACK_METRICS_H_
