// RunUnaryOnExecutor: the shape of every computing unary handler. The
// handler returns at once; `work` runs on the service's executor and its
// absl::Status becomes the call's grpc::Status (the one conversion point).
#ifndef FM_COMMON_UNARY_CALL_H_
#define FM_COMMON_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "common/executor.h"
#include "common/status_util.h"

namespace fm {

// `work` is an absl::Status() callable. The request and response objects
// the caller captures stay valid until Finish. When the executor's queue is
// full the call ends RESOURCE_EXHAUSTED without running `work`.
template <typename Work>
grpc::ServerUnaryReactor* RunUnaryOnExecutor(grpc::CallbackServerContext* ctx,
                                             Executor& executor, Work work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued = executor.Submit([ctx, reactor, work = std::move(work)]() mutable {
    if (ctx->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                   "cancelled before it ran"));
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server busy: work queue is full"));
  }
  return reactor;
}

}  // namespace fm

#endif  // FM_COMMON_UNARY_CALL_H_
