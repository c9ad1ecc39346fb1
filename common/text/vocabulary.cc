// Shared validation for token ids.
#include "common/text/vocabulary.h"

#include "absl/strings/str_cat.h"

namespace fm::text {

absl::Status ValidateIds(absl::Span<const TokenId> ids, int32_t vocab_size,
                         absl::string_view field) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "] = ", ids[i], " is outside [0, ",
                       vocab_size, ") (vocabulary size ", vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace fm::text
