// Shared vocabulary helpers: byte pieces, id validation.
#include "common/text/vocabulary.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fm::text {

bool ParseBytePiece(absl::string_view piece, uint8_t* byte) {
  if (piece.size() != 6 || !absl::StartsWith(piece, "<0x") ||
      piece[5] != '>') {
    return false;
  }
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = absl::ascii_tolower(piece[i]);
    if (!absl::ascii_isxdigit(c)) return false;
    value = value * 16 + (absl::ascii_isdigit(c) ? c - '0' : c - 'a' + 10);
  }
  *byte = static_cast<uint8_t>(value);
  return true;
}

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

absl::Status ValidateSpecialIds(const SpecialIds& special, int64_t vocab_size) {
  const std::pair<const char*, TokenId> ids[] = {{"bos", special.bos},
                                                 {"eos", special.eos},
                                                 {"unk", special.unk},
                                                 {"pad", special.pad}};
  for (const auto& [name, id] : ids) {
    if (id < -1 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("special id ", name, " = ", id, " is outside [0, ",
                       vocab_size, ") (vocabulary size)"));
    }
  }
  for (size_t i = 0; i < special.end_of_generation.size(); ++i) {
    const TokenId id = special.end_of_generation[i];
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "end-of-generation id #", i, " = ", id, " is outside [0, ",
          vocab_size, ") (vocabulary size)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace fm::text
