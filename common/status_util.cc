// absl::Status <-> grpc::Status; see status_util.h.
#include "common/status_util.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace fm {
namespace {

// The whole scheme rests on identical numbering; prove it at compile time.
#define FM_CHECK_CODE(absl_code, grpc_code)                             \
  static_assert(static_cast<int>(absl::StatusCode::absl_code) ==        \
                    static_cast<int>(grpc::StatusCode::grpc_code),      \
                #absl_code " must equal " #grpc_code)
FM_CHECK_CODE(kOk, OK);
FM_CHECK_CODE(kCancelled, CANCELLED);
FM_CHECK_CODE(kUnknown, UNKNOWN);
FM_CHECK_CODE(kInvalidArgument, INVALID_ARGUMENT);
FM_CHECK_CODE(kDeadlineExceeded, DEADLINE_EXCEEDED);
FM_CHECK_CODE(kNotFound, NOT_FOUND);
FM_CHECK_CODE(kAlreadyExists, ALREADY_EXISTS);
FM_CHECK_CODE(kPermissionDenied, PERMISSION_DENIED);
FM_CHECK_CODE(kResourceExhausted, RESOURCE_EXHAUSTED);
FM_CHECK_CODE(kFailedPrecondition, FAILED_PRECONDITION);
FM_CHECK_CODE(kAborted, ABORTED);
FM_CHECK_CODE(kOutOfRange, OUT_OF_RANGE);
FM_CHECK_CODE(kUnimplemented, UNIMPLEMENTED);
FM_CHECK_CODE(kInternal, INTERNAL);
FM_CHECK_CODE(kUnavailable, UNAVAILABLE);
FM_CHECK_CODE(kDataLoss, DATA_LOSS);
FM_CHECK_CODE(kUnauthenticated, UNAUTHENTICATED);
#undef FM_CHECK_CODE

constexpr int kMaxCode = static_cast<int>(absl::StatusCode::kUnauthenticated);

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status,
                            absl::string_view component) {
  if (status.ok()) return absl::OkStatus();
  const int code = static_cast<int>(status.error_code());
  // A code outside google.rpc.Code (never sent by a conforming peer) is
  // reported as UNKNOWN rather than smuggled through.
  const absl::StatusCode absl_code =
      (code > 0 && code <= kMaxCode) ? static_cast<absl::StatusCode>(code)
                                     : absl::StatusCode::kUnknown;
  return absl::Status(absl_code,
                      absl::StrCat(component, ": ", status.error_message()));
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(context, ": ", status.message()));
}

}  // namespace fm
