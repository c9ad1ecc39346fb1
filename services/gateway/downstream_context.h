// DownstreamContext: the client context of every call the gateway makes on
// a client's behalf, so that downstream work inherits the client's
// deadline and request id, and ends when the client cancels.
#ifndef FM_SERVICES_GATEWAY_DOWNSTREAM_CONTEXT_H_
#define FM_SERVICES_GATEWAY_DOWNSTREAM_CONTEXT_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/time/time.h"

namespace fm::gateway {

// A context carrying the client's deadline (or `fallback` from now when it
// has none, or when `fallback` is earlier), cancellation and request id.
std::unique_ptr<grpc::ClientContext> DownstreamContext(
    const grpc::CallbackServerContext& server_ctx, absl::Duration fallback);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_DOWNSTREAM_CONTEXT_H_
