#include "common/metrics/callback_metrics.h"

#include <utility>

namespace fm::metrics {

prometheus::MetricFamily OneValueFamily(std::string name, std::string help,
                                        prometheus::MetricType type,
                                        double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

void CallbackMetrics::AddGauge(std::string name, std::string help,
                               std::function<double()> read) {
  Add({std::move(name), std::move(help), prometheus::MetricType::Gauge,
       std::move(read)});
}

void CallbackMetrics::AddCounter(std::string name, std::string help,
                                 std::function<double()> read) {
  Add({std::move(name), std::move(help), prometheus::MetricType::Counter,
       std::move(read)});
}

void CallbackMetrics::Add(Entry entry) {
  absl::MutexLock lock(&mu_);
  entries_.push_back(std::move(entry));
}

std::vector<prometheus::MetricFamily> CallbackMetrics::Collect() const {
  absl::MutexLock lock(&mu_);
  std::vector<prometheus::MetricFamily> families;
  families.reserve(entries_.size());
  for (const Entry& e : entries_) {
    families.push_back(OneValueFamily(e.name, e.help, e.type, e.read()));
  }
  return families;
}

}  // namespace fm::metrics
