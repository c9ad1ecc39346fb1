// ServerRunner implementation: builder settings, health, signals, shutdown.
#include "common/server_runner.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics/metrics_registry.h"
#include "common/metrics/rpc_metrics.h"
#include "common/request_log.h"

namespace fm {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, "=", path, ": cannot read file"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const ServerOptions& options) {
  if (options.tls_cert.empty() && options.tls_key.empty()) {
    if (!options.tls_client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca needs --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert and --tls_key");
  }
  auto cert = ReadPem(options.tls_cert, "tls_cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(options.tls_key, "tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.tls_client_ca.empty()) {
    auto ca = ReadPem(options.tls_client_ca, "tls_client_ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("port file ", path, ": cannot write"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("port file ", path, ": cannot rename"));
  }
  return absl::OkStatus();
}

void ServerRunner::BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<std::unique_ptr<ServerRunner>> ServerRunner::Start(
    const ServerOptions& options, std::vector<grpc::Service*> services,
    std::vector<std::string> health_names) {
  auto creds = MakeCredentials(options);
  if (!creds.ok()) return creds.status();
  if (options.max_connection_age < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_connection_age=", absl::FormatDuration(options.max_connection_age),
        " must be at least 100ms (or inf for never)"));
  }

  grpc::EnableDefaultHealthCheckService(true);
  if (options.reflection) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  std::unique_ptr<ServerRunner> runner(new ServerRunner());
  runner->options_ = options;

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *creds, &runner->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Keepalive: the server pings idle clients every 20 s, and accepts client
  // pings as often as every 500 ms, so clients may use a short keepalive to
  // detect a frozen server quickly without being sent GOAWAY(too_many_pings).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // See channel_factory.cc: large logits messages need a large window.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8 << 20);
  if (options.max_connection_age != absl::InfiniteDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(std::min<int64_t>(
            absl::ToInt64Milliseconds(options.max_connection_age), INT32_MAX)));
    // A generation is one long stream: it keeps its connection to the end.
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, INT32_MAX);
  }
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<RequestLogFactory>());
  interceptors.push_back(std::make_unique<metrics::RpcMetricsFactory>(
      *metrics::DefaultRegistry()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  runner->server_ = builder.BuildAndStart();
  if (runner->server_ == nullptr || runner->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on --listen=", options.listen,
                     " (address in use, or not HOST:PORT?)"));
  }
  runner->service_names_ = std::move(health_names);
  runner->SetServing(false);
  if (grpc::HealthCheckServiceInterface* health =
          runner->server_->GetHealthCheckService()) {
    health->SetServingStatus(kLivenessService, true);
  }
  // Before the port file: a parent that has read the gRPC port can read
  // the metrics port too.
  if (!options.metrics_listen.empty()) {
    auto metrics =
        metrics::MetricsServer::Start(options.metrics_listen, options.metrics);
    if (!metrics.ok()) return metrics.status();
    runner->metrics_ = std::move(*metrics);
    if (!options.metrics_port_file.empty()) {
      absl::Status written =
          WritePortFile(options.metrics_port_file, runner->metrics_->port());
      if (!written.ok()) return written;
    }
    FM_LOG(INFO) << "metrics on http://" << options.metrics_listen
                 << "/metrics (port " << runner->metrics_->port() << ")";
  }
  if (!options.port_file.empty()) {
    absl::Status written = WritePortFile(options.port_file, runner->port_);
    if (!written.ok()) return written;
  }
  FM_LOG(INFO) << "listening on " << options.listen << " (port "
               << runner->port_ << ", "
               << (options.tls_cert.empty()
                       ? "plaintext"
                       : (options.tls_client_ca.empty() ? "TLS" : "mTLS"))
               << ")";
  return runner;
}

ServerRunner::~ServerRunner() { Shutdown(); }

void ServerRunner::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health =
      server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  for (const std::string& name : service_names_) {
    health->SetServingStatus(name, serving);
  }
}

void ServerRunner::WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  FM_LOG(INFO) << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
               << ", shutting down (grace "
               << absl::FormatDuration(options_.shutdown_grace) << ")";
  Shutdown();
}

void ServerRunner::Shutdown() {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  grpc::HealthCheckServiceInterface* health =
      server_->GetHealthCheckService();
  if (health != nullptr) health->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  FM_LOG(INFO) << "server stopped";
}

}  // namespace fm
