// MakeChannel implementation: address lists, service config, credentials.
#include "common/channel_factory.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace fm {
namespace {

// round_robin over every resolved address; UNAVAILABLE is retried (only
// before the call is committed, i.e. before response headers arrived, so a
// half-streamed generation is never silently replayed by gRPC).
constexpr char kServiceConfig[] = R"({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})";

struct HostPort {
  std::string host;
  std::string port;
};

absl::StatusOr<HostPort> SplitHostPort(absl::string_view entry) {
  entry = absl::StripAsciiWhitespace(entry);
  HostPort hp;
  if (absl::ConsumePrefix(&entry, "[")) {  // [v6]:port
    const size_t close = entry.find(']');
    if (close == absl::string_view::npos || close + 1 >= entry.size() ||
        entry[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address '[", entry, "': want [IPv6]:PORT"));
    }
    hp.host = std::string(entry.substr(0, close));
    hp.port = std::string(entry.substr(close + 2));
  } else {
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address '", entry, "': want HOST:PORT"));
    }
    hp.host = std::string(entry.substr(0, colon));
    hp.port = std::string(entry.substr(colon + 1));
  }
  if (hp.port.empty() ||
      hp.port.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad port in address '", entry, "'"));
  }
  return hp;
}

// All IPv4 and IPv6 addresses of `hp`, formatted "a.b.c.d:p" / "[v6]:p".
absl::Status Resolve(const HostPort& hp, std::vector<std::string>* v4,
                     std::vector<std::string>* v6) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", hp.host, "': ", gai_strerror(rc)));
  }
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN];
    if (ai->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
      v4->push_back(absl::StrCat(buf, ":", hp.port));
    } else if (ai->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
      v6->push_back(absl::StrCat("[", buf, "]:", hp.port));
    }
  }
  freeaddrinfo(result);
  return absl::OkStatus();
}

// "a:1,b:2" -> "ipv4:1.2.3.4:1,5.6.7.8:2" (gRPC's static address list).
absl::StatusOr<std::string> ResolveList(absl::string_view target) {
  std::vector<std::string> v4, v6;
  for (absl::string_view entry : absl::StrSplit(target, ',')) {
    if (absl::StripAsciiWhitespace(entry).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty entry in address list '", target, "'"));
    }
    auto hp = SplitHostPort(entry);
    if (!hp.ok()) return hp.status();
    absl::Status resolved = Resolve(*hp, &v4, &v6);
    if (!resolved.ok()) return resolved;
  }
  std::sort(v4.begin(), v4.end());
  v4.erase(std::unique(v4.begin(), v4.end()), v4.end());
  std::sort(v6.begin(), v6.end());
  v6.erase(std::unique(v6.begin(), v6.end()), v6.end());
  // One URI scheme per channel: prefer IPv4 when both families resolved.
  if (!v4.empty()) return absl::StrCat("ipv4:", absl::StrJoin(v4, ","));
  return absl::StrCat("ipv6:", absl::StrJoin(v6, ","));
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(what, " ", path, ": cannot read"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ChannelOptions& options) {
  if (options.tls_ca.empty() && options.tls_cert.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca.empty()) {
    auto ca = ReadFile(options.tls_ca, "TLS CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!options.tls_cert.empty()) {
    auto cert = ReadFile(options.tls_cert, "TLS client cert");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(options.tls_key, "TLS client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    absl::string_view target, const ChannelOptions& options) {
  target = absl::StripAsciiWhitespace(target);
  if (target.empty()) return absl::InvalidArgumentError("empty target address");
  std::string uri(target);
  if (target.find(',') != absl::string_view::npos) {
    auto list = ResolveList(target);
    if (!list.ok()) return list.status();
    uri = *list;
  }
  auto creds = Credentials(options);
  if (!creds.ok()) return creds.status();

  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  args.SetInt(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Logits are 128 KiB per position: a 64 KiB initial HTTP/2 stream window
  // would make every such message wait for a WINDOW_UPDATE round trip.
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8 << 20);
  // Reconnect quickly after a restart of the peer.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A DNS name is looked up again whenever a connection closes (a replica
  // went away, or a server's --max_connection_age sent GOAWAY); the default
  // 30 s floor between lookups would leave a replica that just came up
  // without work for that long.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 1000);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return grpc::CreateCustomChannel(uri, *creds, args);
}

std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

bool WaitForReconnect(grpc::Channel& channel, absl::Time deadline) {
  if (channel.GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY) {
    channel.WaitForStateChange(
        GRPC_CHANNEL_READY,
        absl::ToChronoTime(
            std::min(deadline, absl::Now() + absl::Milliseconds(250))));
  }
  return channel.WaitForConnected(absl::ToChronoTime(deadline));
}

}  // namespace fm
