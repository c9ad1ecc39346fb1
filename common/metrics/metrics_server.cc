#include "common/metrics/metrics_server.h"

#include <exception>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/metrics_registry.h"
#include "common/metrics/process_metrics.h"

namespace fm::metrics {
namespace {

// civetweb takes "HOST:PORT" for IPv4 and "[HOST]:PORT" for IPv6; a bad
// address only shows as a failed start, so check the form first.
absl::Status CheckListenAddress(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_listen=", listen,
                     " is not HOST:PORT with a port in [0, 65535]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen,
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  if (absl::Status s = CheckListenAddress(listen); !s.ok()) return s;
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  collectables.push_back(DefaultRegistry());
  collectables.push_back(std::make_shared<ProcessMetrics>());
  server->collectables_ = std::move(collectables);
  try {
    // Two threads: scrapes are rare and short; a second one lets a slow
    // scraper not hold up another.
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics listener --metrics_listen=", listen,
                     " could not start: ", e.what()));
  }
  for (const auto& collectable : server->collectables_) {
    server->exposer_->RegisterCollectable(collectable);
  }
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "metrics listener --metrics_listen=", listen, " bound no port"));
  }
  server->port_ = ports.front();
  return server;
}

MetricsServer::~MetricsServer() {
  // Stop serving before the collectables go.
  exposer_.reset();
}

}  // namespace fm::metrics
