// MetricsServer: serves GET /metrics in Prometheus' text exposition format
// (0.0.4) on its own HTTP listener and threads (prometheus-cpp's Exposer on
// civetweb, from Debian), so that a scrape never waits for or delays a
// request: collecting reads counters, atomics and /proc only.
#ifndef FM_COMMON_METRICS_METRICS_SERVER_H_
#define FM_COMMON_METRICS_METRICS_SERVER_H_

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fm::metrics {

class MetricsServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks a free one) and exposes
  // DefaultRegistry(), the process metrics and `collectables` (kept alive
  // by the server). INVALID_ARGUMENT for a malformed address, UNAVAILABLE
  // when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen,
      std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port actually bound.
  int port() const { return port_; }

 private:
  MetricsServer() = default;

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace fm::metrics

#endif  // FM_COMMON_METRICS_METRICS_SERVER_H_
