// SessionLost and ResumeDeadline.
#include "services/gateway/session_recovery.h"

#include <algorithm>
#include <chrono>

namespace fm::gateway {

bool SessionLost(const grpc::CallbackServerContext& server_ctx,
                 const absl::Status& status) {
  if (server_ctx.IsCancelled()) return false;
  return absl::IsUnavailable(status) || absl::IsCancelled(status);
}

absl::Time ResumeDeadline(const grpc::CallbackServerContext& server_ctx,
                          const GenerationLimits& limits) {
  absl::Time until = absl::Now() + limits.resume_timeout;
  if (server_ctx.deadline() != std::chrono::system_clock::time_point::max()) {
    until = std::min(until, absl::FromChrono(server_ctx.deadline()));
  }
  return until;
}

}  // namespace fm::gateway
