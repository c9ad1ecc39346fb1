// RequestLogFactory: a gRPC server interceptor that gives every call a
// request id (the client's x-request-id when valid, else a new one; seen by
// the handler in its client metadata, so it travels downstream), returns it
// in the response headers, appends it to every error message the call
// ends with, and writes one access log line per call: method, code,
// duration and, when the handler reported them, the tokens generated.
#ifndef FM_COMMON_REQUEST_LOG_H_
#define FM_COMMON_REQUEST_LOG_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <string>

namespace fm {

// Trailing metadata a handler may set to the number of tokens it
// generated; the access log line reports it as tokens=N.
inline constexpr char kTokensTrailer[] = "fm-generated-tokens";

// The call's request id (RequestLogFactory makes sure every call has
// one), or "" when it has none.
std::string RequestIdOf(const grpc::ServerContextBase& ctx);

class RequestLogFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace fm

#endif  // FM_COMMON_REQUEST_LOG_H_
