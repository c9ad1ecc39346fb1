// SHA-256 through OpenSSL's libcrypto (already a dependency of gRPC), so no
// hash code is hand-written here.
#include "common/file_digest.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fm {
namespace {

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string Hex(const unsigned char* digest, unsigned int len) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), len));
}

}  // namespace

absl::StatusOr<std::string> Sha256File(absl::string_view path,
                                       const ReadProgress& progress) {
  const std::string p(path);
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(p.c_str(), "rb"));
  if (file == nullptr) {
    const int err = errno;
    const std::string msg =
        absl::StrCat("cannot open ", p, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::UnavailableError(msg);
  }
  std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("sha256: cannot initialise OpenSSL digest");
  }
  uint64_t total = 0;
  struct stat st;
  if (::fstat(::fileno(file.get()), &st) == 0 && st.st_size > 0) {
    total = static_cast<uint64_t>(st.st_size);
  }
  constexpr size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  uint64_t done = 0;
  size_t n;
  while ((n = std::fread(buf.get(), 1, kChunk, file.get())) > 0) {
    EVP_DigestUpdate(ctx.get(), buf.get(), n);
    done += n;
    if (progress) progress(done, total);
  }
  if (std::ferror(file.get())) {
    return absl::DataLossError(absl::StrCat("read error on ", p));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return Hex(digest, len);
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

absl::Status CheckSha256(absl::string_view what, absl::string_view expected,
                         absl::string_view actual) {
  if (absl::AsciiStrToLower(expected) == absl::AsciiStrToLower(actual)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(what, " sha256 mismatch: expected ", expected, ", file has ",
                   actual));
}

}  // namespace fm
