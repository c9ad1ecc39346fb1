// ServerRunner: the one way every fmserve service listens. It applies the
// shared server settings (health, reflection, keepalive, message limits,
// TLS/mTLS, RPC metrics and the metrics listener), reports the bound port,
// and shuts down gracefully on SIGTERM.
#ifndef FM_COMMON_SERVER_RUNNER_H_
#define FM_COMMON_SERVER_RUNNER_H_

#include <grpcpp/grpcpp.h>
#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics_server.h"

namespace fm {

struct ServerOptions {
  // HOST:PORT to listen on; port 0 picks a free port (see port()).
  std::string listen = "127.0.0.1:0";
  // When non-empty, the bound port is written here (atomically) once the
  // server listens, so a parent process can find a port-0 server.
  std::string port_file;
  // PEM files. Cert and key enable TLS; a client CA additionally requires
  // and verifies client certificates (mTLS). All empty = plaintext.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Largest message accepted or sent, bytes.
  int max_message_bytes = 64 << 20;
  // How long in-flight calls get to finish after SIGTERM before they are
  // cancelled.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Serve grpc.reflection.v1alpha.
  bool reflection = true;
  // After this long a connection is sent GOAWAY (gRPC adds +-10% jitter):
  // its open streams run to their end, new calls go to a new connection.
  // That is what makes a client re-resolve a DNS name, so replicas added
  // behind the name receive work (gRPC's DNS resolver looks again only when
  // a connection changes). Infinite = never.
  absl::Duration max_connection_age = absl::InfiniteDuration();
  // HOST:PORT for GET /metrics (Prometheus); empty = no metrics listener.
  // Every call is counted by the RPC metrics interceptor either way.
  std::string metrics_listen;
  // Like port_file, for the metrics listener's port.
  std::string metrics_port_file;
  // Exposed besides the process registry and process metrics: the
  // service's own gauges read at scrape time (see CallbackMetrics).
  std::vector<std::shared_ptr<prometheus::Collectable>> metrics;
};

// The health service name that is SERVING for as long as the server runs,
// whatever the readiness of its resources or dependencies: the target of
// liveness probes, so that a gateway whose model is down is taken out of
// rotation (readiness, "") but not restarted.
inline constexpr char kLivenessService[] = "liveness";

// Writes `port` to `path` atomically (a temporary file renamed), so that a
// parent process never reads half a number.
absl::Status WritePortFile(const std::string& path, int port);

class ServerRunner {
 public:
  // Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread; call first
  // thing in main(), before any thread exists, so that every thread inherits
  // the mask and WaitForShutdownSignal() receives them synchronously.
  static void BlockShutdownSignals();

  // Builds and starts a server with `services` (not owned; they must outlive
  // the runner). Health starts NOT_SERVING for "" and for every name in
  // `health_names` (e.g. TokenizerService::service_full_name()): call
  // SetServing(true) once the service's resources are loaded.
  static absl::StatusOr<std::unique_ptr<ServerRunner>> Start(
      const ServerOptions& options, std::vector<grpc::Service*> services,
      std::vector<std::string> health_names);

  ~ServerRunner();
  ServerRunner(const ServerRunner&) = delete;
  ServerRunner& operator=(const ServerRunner&) = delete;

  // The port actually bound.
  int port() const { return port_; }
  // The metrics listener's port, 0 without one.
  int metrics_port() const {
    return metrics_ == nullptr ? 0 : metrics_->port();
  }
  grpc::Server* server() { return server_.get(); }

  // Sets the health status of "" and of every registered service
  // (readiness). kLivenessService stays SERVING until Shutdown().
  void SetServing(bool serving);

  // Waits for SIGTERM or SIGINT (see BlockShutdownSignals), then Shutdown().
  void WaitForShutdownSignal();

  // NOT_SERVING, stop accepting calls, give in-flight calls the grace
  // period, then cancel them. Idempotent.
  void Shutdown();

 private:
  ServerRunner() = default;

  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsServer> metrics_;
  std::vector<std::string> service_names_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace fm

#endif  // FM_COMMON_SERVER_RUNNER_H_
