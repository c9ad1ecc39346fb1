#include "common/metrics/process_metrics.h"

#include <string>
#include <utility>

#include "common/metrics/callback_metrics.h"
#include "common/process_stats.h"

namespace fm::metrics {
namespace {

void AddFamily(std::vector<prometheus::MetricFamily>& families,
               std::string name, std::string help, prometheus::MetricType type,
               double value) {
  if (value < 0) return;  // the kernel did not say
  families.push_back(
      OneValueFamily(std::move(name), std::move(help), type, value));
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  const ProcessStats s = ReadProcessStats();
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  AddFamily(families, "process_resident_memory_bytes",
            "Resident memory size in bytes.", MetricType::Gauge,
            static_cast<double>(s.resident_bytes));
  AddFamily(families, "process_virtual_memory_bytes",
            "Virtual memory size in bytes.", MetricType::Gauge,
            static_cast<double>(s.virtual_bytes));
  AddFamily(families, "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            MetricType::Counter, s.cpu_seconds);
  AddFamily(families, "process_open_fds", "Number of open file descriptors.",
            MetricType::Gauge, static_cast<double>(s.open_fds));
  AddFamily(families, "process_max_fds",
            "Maximum number of open file descriptors.", MetricType::Gauge,
            static_cast<double>(s.max_fds));
  AddFamily(families, "process_threads", "Number of OS threads.",
            MetricType::Gauge, static_cast<double>(s.threads));
  AddFamily(families, "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            MetricType::Gauge, s.start_time_seconds);
  return families;
}

}  // namespace fm::metrics
