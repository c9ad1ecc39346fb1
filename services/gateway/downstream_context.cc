// DownstreamContext.
#include "services/gateway/downstream_context.h"

#include "common/channel_factory.h"

namespace fm::gateway {

std::unique_ptr<grpc::ClientContext> DownstreamContext(
    const grpc::CallbackServerContext& server_ctx, absl::Duration fallback) {
  auto ctx = grpc::ClientContext::FromCallbackServerContext(server_ctx);
  // The child's deadline is the earlier of the client's and this one.
  ctx->set_deadline(DeadlineAfter(fallback));
  return ctx;
}

}  // namespace fm::gateway
