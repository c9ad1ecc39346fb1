// Request ids: one id per client request, taken from the client's
// x-request-id metadata or made at the first service that sees the call,
// sent downstream with every call made on its behalf, returned to the
// client in the response headers, and shown in every log line and error
// message of every service that handled it. No gRPC here (the log uses
// it); the call's id is RequestIdOf in request_log.h.
#ifndef FM_COMMON_REQUEST_ID_H_
#define FM_COMMON_REQUEST_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fm {

// The metadata key (gRPC metadata keys are lower case).
inline constexpr char kRequestIdKey[] = "x-request-id";
// Longest id accepted from a client; a longer or non-printable one is
// replaced by a fresh id (it would otherwise reach every log line).
inline constexpr size_t kMaxRequestIdBytes = 128;

// 16 random hex digits.
std::string NewRequestId();

// 1..kMaxRequestIdBytes bytes of printable ASCII without spaces or quotes.
bool IsValidRequestId(absl::string_view id);

// Sets the request id of the log lines this thread writes while in scope
// (a worker running one request); restores the previous one at the end.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

// The id set by the innermost ScopedRequestId on this thread, or "".
const std::string& CurrentRequestId();

}  // namespace fm

#endif  // FM_COMMON_REQUEST_ID_H_
