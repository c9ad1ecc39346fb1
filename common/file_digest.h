// SHA-256 of a file, used to pin model and tokenizer files by content.
#ifndef FM_COMMON_FILE_DIGEST_H_
#define FM_COMMON_FILE_DIGEST_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm {

// Bytes read so far and the file's size (0 when it cannot be known).
using ReadProgress = std::function<void(uint64_t done, uint64_t total)>;

// Lowercase hex SHA-256 of the file's bytes. NOT_FOUND / PERMISSION_DENIED /
// DATA_LOSS (read error) name the path. `progress`, when set, is called
// as the file is read (a multi-gigabyte model takes seconds).
absl::StatusOr<std::string> Sha256File(absl::string_view path,
                                       const ReadProgress& progress = {});

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// OK when `actual` equals `expected` (hex, case-insensitive); otherwise
// FAILED_PRECONDITION naming `what` and both digests.
absl::Status CheckSha256(absl::string_view what, absl::string_view expected,
                         absl::string_view actual);

}  // namespace fm

#endif  // FM_COMMON_FILE_DIGEST_H_
