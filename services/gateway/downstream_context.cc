// DownstreamContext.
#include "services/gateway/downstream_context.h"

#include <string>

#include "common/channel_factory.h"
#include "common/request_id.h"
#include "common/request_log.h"

namespace fm::gateway {

std::unique_ptr<grpc::ClientContext> DownstreamContext(
    const grpc::CallbackServerContext& server_ctx, absl::Duration fallback) {
  auto ctx = grpc::ClientContext::FromCallbackServerContext(server_ctx);
  // The child's deadline is the earlier of the client's and this one.
  ctx->set_deadline(DeadlineAfter(fallback));
  // Every service that works on the request logs it under the same id.
  const std::string request_id = RequestIdOf(server_ctx);
  if (!request_id.empty()) ctx->AddMetadata(kRequestIdKey, request_id);
  return ctx;
}

}  // namespace fm::gateway
