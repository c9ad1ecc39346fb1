// The one conversion point between absl::Status (used inside every service)
// and grpc::Status (used only at the RPC edge). The numeric codes of Abseil,
// gRPC and SentencePiece coincide (google.rpc.Code), so codes are preserved.
#ifndef FM_COMMON_STATUS_UTIL_H_
#define FM_COMMON_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fm {

// Same code, same message. Used by handlers, exactly once, in Finish().
grpc::Status ToGrpcStatus(const absl::Status& status);

// Same code; the message is prefixed with the component that failed
// ("model: position 2048 exceeds context_length 2048"), so that a status
// relayed through the gateway still says where it came from. An OK status
// stays OK.
absl::Status FromGrpcStatus(const grpc::Status& status,
                            absl::string_view component);

// Returns `status` with "context: " prepended to its message (OK stays OK).
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace fm

#endif  // FM_COMMON_STATUS_UTIL_H_
