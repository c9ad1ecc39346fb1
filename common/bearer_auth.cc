// BearerAuth: token files, and the per-call check of the authorization
// metadata.
#include "common/bearer_auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_digest.h"

namespace fm {
namespace {

constexpr absl::string_view kScheme = "bearer ";

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the tokens file ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status AddFile(const std::string& path,
                     absl::flat_hash_set<std::string>* digests) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<std::string>> tokens =
      BearerAuth::ParseTokens(*text, path);
  if (!tokens.ok()) return tokens.status();
  for (const std::string& token : *tokens) digests->insert(Sha256Hex(token));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> BearerAuth::ParseTokens(
    absl::string_view text, absl::string_view what) {
  std::vector<std::string> tokens;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.size() < kMinTokenLength || line.size() > kMaxTokenLength) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " line ", line_number, ": a token has ",
                       line.size(), " characters; it must have ",
                       kMinTokenLength, " to ", kMaxTokenLength));
    }
    for (char c : line) {
      if (c <= ' ' || c > '~') {
        return absl::InvalidArgumentError(absl::StrCat(
            what, " line ", line_number,
            ": a token may hold only printable ASCII without spaces"));
      }
    }
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " holds no token"));
  }
  return tokens;
}

absl::StatusOr<BearerAuth> BearerAuth::Load(const std::string& user_file,
                                            const std::string& admin_file) {
  BearerAuth auth;
  if (!user_file.empty()) {
    absl::Status s = AddFile(user_file, &auth.user_);
    if (!s.ok()) return s;
  }
  if (!admin_file.empty()) {
    absl::Status s = AddFile(admin_file, &auth.admin_);
    if (!s.ok()) return s;
  }
  return auth;
}

absl::Status BearerAuth::Check(const grpc::ServerContextBase& ctx,
                               Access access) const {
  if (!enabled()) return absl::OkStatus();
  const auto& metadata = ctx.client_metadata();
  if (metadata.count("authorization") > 1) {
    return absl::UnauthenticatedError(
        "more than one authorization metadata entry");
  }
  const auto found = metadata.find("authorization");
  if (found == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing bearer token: send the metadata 'authorization: Bearer "
        "<token>'");
  }
  const absl::string_view value(found->second.data(), found->second.size());
  if (value.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(value, kScheme)) {
    return absl::UnauthenticatedError(
        "malformed authorization metadata: expected 'Bearer <token>'");
  }
  const std::string digest =
      Sha256Hex(absl::StripAsciiWhitespace(value.substr(kScheme.size())));
  if (admin_.contains(digest)) return absl::OkStatus();
  if (user_.contains(digest)) {
    if (access == Access::kUser) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "this call changes the service's configuration: it needs an admin "
        "token (--admin_tokens_file)");
  }
  return absl::UnauthenticatedError("bad bearer token");
}

void AddBearerToken(grpc::ClientContext* ctx, const std::string& token) {
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

}  // namespace fm
