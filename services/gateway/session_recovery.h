// What the model and sampler sessions of a generation share when they
// recover from a lost stream: which failures are losses, how long a resume
// may wait, and a call that cannot stay silent on a replacement stream.
#ifndef FM_SERVICES_GATEWAY_SESSION_RECOVERY_H_
#define FM_SERVICES_GATEWAY_SESSION_RECOVERY_H_

#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/gateway/generation_limits.h"

namespace fm::gateway {

// The stream broke (UNAVAILABLE), or the service ended it without the
// client having cancelled (a service shutting down cancels its sessions).
// Deadlines, cancellation by the client and in-band errors (bad input,
// context overflow) are not losses.
bool SessionLost(const grpc::CallbackServerContext& server_ctx,
                 const absl::Status& status);

// The latest moment a resume may wait until for a dependency: now +
// limits.resume_timeout, or the client's deadline when that is earlier.
absl::Time ResumeDeadline(const grpc::CallbackServerContext& server_ctx,
                          const GenerationLimits& limits);

// exchange.Call(request), cancelled if it has not answered within `limit`.
// For the first calls on a replacement session: a stream opened while the
// channel still reports the lost connection as READY can stay silent until
// the request's deadline (seen here in about one restart in five); the
// cancellation turns that into a lost session, which is retried.
template <typename Ex, typename Req>
auto CallWithin(Ex& exchange, const Req& request, absl::Duration limit)
    -> decltype(exchange.Call(request)) {
  absl::Notification answered;
  grpc::ClientContext* ctx = exchange.ctx();
  std::thread watchdog([&answered, ctx, limit] {
    if (!answered.WaitForNotificationWithTimeout(limit)) ctx->TryCancel();
  });
  auto response = exchange.Call(request);
  answered.Notify();
  watchdog.join();
  return response;
}

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_SESSION_RECOVERY_H_
