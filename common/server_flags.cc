// Definitions of the common service flags.
#include "common/server_flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/log.h"

ABSL_FLAG(std::string, listen, "",
          "HOST:PORT to listen on (port 0 = any free port). Default: the "
          "service's own port on 0.0.0.0.");
ABSL_FLAG(std::string, port_file, "",
          "Write the bound port to this file once listening.");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (enables TLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA; when set, clients must present a certificate it signed "
          "(mTLS).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "Time in-flight calls get to finish after SIGTERM.");
ABSL_FLAG(int, max_message_bytes, 64 << 20,
          "Largest gRPC message accepted or sent, bytes.");
ABSL_FLAG(bool, reflection, true, "Serve gRPC server reflection.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Seconds(30),
          "Close each client connection gracefully (GOAWAY) after this long; "
          "open streams finish on it. Clients then reconnect and re-resolve "
          "DNS names, which is how replicas added behind a name start to "
          "receive work. 'inf' = never.");
ABSL_FLAG(std::string, log_format, "text",
          "Log lines as 'text' (human-readable) or 'json' (one object per "
          "line).");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT serving Prometheus metrics at GET /metrics (port 0 = "
          "any free port). Empty = no metrics listener.");
ABSL_FLAG(std::string, metrics_port_file, "",
          "Write the metrics listener's bound port to this file.");

namespace fm {

ServerOptions ServerOptionsFromFlags(const std::string& default_listen) {
  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  if (options.listen.empty()) options.listen = default_listen;
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.reflection = absl::GetFlag(FLAGS_reflection);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.metrics_port_file = absl::GetFlag(FLAGS_metrics_port_file);
  return options;
}

int ServeUntilSignal(
    const std::string& default_listen, grpc::Service* service,
    const std::string& health_name,
    std::vector<std::shared_ptr<prometheus::Collectable>> metrics) {
  ServerOptions options = ServerOptionsFromFlags(default_listen);
  options.metrics = std::move(metrics);
  auto runner = ServerRunner::Start(options, {service}, {health_name});
  if (!runner.ok()) {
    FM_LOG(ERROR) << runner.status();
    return 1;
  }
  (*runner)->SetServing(true);
  (*runner)->WaitForShutdownSignal();
  return 0;
}

std::vector<char*> InitService(const char* component, const char* usage,
                               int argc, char** argv) {
  SetLogComponent(component);
  absl::SetProgramUsageMessage(usage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string format = absl::GetFlag(FLAGS_log_format);
  if (format == "json") {
    SetLogFormat(LogFormat::kJson);
  } else if (format != "text") {
    FM_LOG(ERROR) << "--log_format=" << format << " is not 'text' or 'json'";
    std::exit(2);
  }
  return args;
}

}  // namespace fm
