// BearerAuth: access control for a public gRPC API with bearer tokens
// ("authorization: Bearer <token>" metadata). Tokens come from files (one
// per line) and are kept only as SHA-256 digests, so no token sits in
// memory or in a log, and a lookup never compares secrets byte by byte.
// Works on plaintext and TLS ports alike (an AuthMetadataProcessor would
// need TLS: with insecure credentials gRPC 1.51 aborts), so handlers call
// Check() first; the health service stays public.
#ifndef FM_COMMON_BEARER_AUTH_H_
#define FM_COMMON_BEARER_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm {

class BearerAuth {
 public:
  enum class Access {
    kUser,   // the API
    kAdmin,  // changing the service's configuration
  };

  // Shortest token accepted in a tokens file: shorter ones are guessable.
  static constexpr size_t kMinTokenLength = 16;
  static constexpr size_t kMaxTokenLength = 512;

  // Auth off: every call is allowed.
  BearerAuth() = default;

  // Tokens from `user_file` grant kUser, from `admin_file` both. Either may
  // be empty (no such tokens); with both empty, auth is off. A file that
  // cannot be read, holds no token, or holds a malformed one is
  // INVALID_ARGUMENT naming the file and line.
  static absl::StatusOr<BearerAuth> Load(const std::string& user_file,
                                         const std::string& admin_file);

  // Tokens in `text`: one per line; blank lines and lines starting with
  // '#' are skipped; surrounding spaces trimmed. `what` names the source in
  // errors.
  static absl::StatusOr<std::vector<std::string>> ParseTokens(
      absl::string_view text, absl::string_view what);

  bool enabled() const { return !user_.empty() || !admin_.empty(); }

  // OK when auth is off or the call carries a token with `access`;
  // UNAUTHENTICATED for a missing or unknown token, PERMISSION_DENIED for a
  // user token on an admin call. Messages never contain the token.
  absl::Status Check(const grpc::ServerContextBase& ctx, Access access) const;

 private:
  absl::flat_hash_set<std::string> user_;   // SHA-256 hex of user tokens
  absl::flat_hash_set<std::string> admin_;  // SHA-256 hex of admin tokens
};

// Adds "authorization: Bearer <token>" to a client call (no-op for "").
void AddBearerToken(grpc::ClientContext* ctx, const std::string& token);

}  // namespace fm

#endif  // FM_COMMON_BEARER_AUTH_H_
