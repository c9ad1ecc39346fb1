// OpenAiServer: the gateway's optional HTTP listener (--http_listen). It
// speaks the OpenAI API (/v1/completions, /v1/chat/completions, /v1/models)
// and /health, as a client of the gateway's own gRPC API through an
// in-process channel: the same validation, limits, bearer tokens and
// cancellation as a gRPC caller gets, and no second implementation of any.
#ifndef FM_SERVICES_GATEWAY_OPENAI_OPENAI_SERVER_H_
#define FM_SERVICES_GATEWAY_OPENAI_OPENAI_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/backends.h"

namespace httplib {
class Server;
}

namespace fm::gateway::openai {

struct HttpOptions {
  // HOST:PORT ("[::1]:8080" for IPv6); port 0 picks a free one.
  std::string listen;
  // When set, the bound port is written here once listening.
  std::string port_file;
  // Larger bodies get 413.
  size_t max_body_bytes = 8 << 20;
  // Connections served at once (each holds a thread while it waits for
  // its generation).
  int threads = 20;
  // Deadline of each request's gateway calls.
  absl::Duration timeout = absl::Minutes(10);
  // The model id clients name; "" = the model file's name without its
  // directory and extension.
  std::string served_model_name;
};

class OpenAiServer {
 public:
  // Listens (INVALID_ARGUMENT for a bad address, UNAVAILABLE when the port
  // cannot be bound). `grpc_server` and `backends` must outlive it.
  static absl::StatusOr<std::unique_ptr<OpenAiServer>> Start(
      const HttpOptions& options, grpc::Server* grpc_server,
      Backends* backends);
  // Stops listening and waits for the requests in flight.
  ~OpenAiServer();

  int port() const { return port_; }

  class Handlers;

 private:
  OpenAiServer() = default;

  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  int port_ = 0;
};

}  // namespace fm::gateway::openai

#endif  // FM_SERVICES_GATEWAY_OPENAI_OPENAI_SERVER_H_
