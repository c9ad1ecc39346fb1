// MakeChannel: the one way fmserve clients connect. Applies keepalive,
// message limits, round_robin balancing over several addresses, optional
// TLS/mTLS, and a retry policy for UNAVAILABLE on calls not yet committed.
#ifndef FM_COMMON_CHANNEL_FACTORY_H_
#define FM_COMMON_CHANNEL_FACTORY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fm {

struct ChannelOptions {
  // PEM files: a CA enables TLS and verifies the server; cert and key add a
  // client certificate (mTLS). All empty = plaintext.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  // Overrides the name checked against the server certificate.
  std::string tls_server_name;
  // Largest message sent or received, bytes.
  int max_message_bytes = 64 << 20;
  // Client keepalive: a ping after this much silence, and the connection
  // is declared dead when the ack does not arrive within the timeout, so a
  // frozen or partitioned peer surfaces as UNAVAILABLE within about
  // time + timeout (2-2.5 s measured) instead of at the deadline; the
  // gateway then resumes the generation on another replica.
  absl::Duration keepalive_time = absl::Seconds(1);
  absl::Duration keepalive_timeout = absl::Seconds(1);
};

// `target` is "HOST:PORT", or several separated by commas
// ("10.0.0.1:50051,10.0.0.2:50051"), or any gRPC target URI
// ("dns:///svc:50051"). Several addresses, and DNS names resolving to several
// addresses, are balanced round_robin. Names in a comma list are resolved once,
// here. INVALID_ARGUMENT for an empty or malformed list; UNAVAILABLE when a
// name does not resolve; NOT_FOUND for unreadable PEM files.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    absl::string_view target, const ChannelOptions& options = {});

// A deadline `timeout` from now, in the form ClientContext::set_deadline takes.
std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout);

// After a call on `channel` broke: waits (until `deadline`) for the channel
// to be connected again. Right after a connection breaks the channel may
// still report READY for a moment, and a stream opened then can stay silent
// (seen with gRPC 1.51 here); so a READY channel first gets up to 250 ms to
// notice the loss. True when connected.
bool WaitForReconnect(grpc::Channel& channel, absl::Time deadline);

}  // namespace fm

#endif  // FM_COMMON_CHANNEL_FACTORY_H_
