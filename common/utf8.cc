// UTF-8 validation and completeness checks (RFC 3629 byte ranges).
#include "common/utf8.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace fm {
namespace {

// The character starting at text[i]: how many bytes it needs (0 when the
// lead byte can never start a character) and how many of them are present
// and valid so far.
struct CharScan {
  size_t needed = 0;
  size_t valid = 0;
};

CharScan ScanChar(absl::string_view text, size_t i) {
  const uint8_t lead = static_cast<uint8_t>(text[i]);
  CharScan scan;
  uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead < 0x80) {
    scan.needed = 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    scan.needed = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    scan.needed = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlongs
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    scan.needed = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlongs
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return scan;  // 0x80..0xC1, 0xF5..0xFF: never a lead byte
  }
  scan.valid = 1;
  while (scan.valid < scan.needed && i + scan.valid < text.size()) {
    const uint8_t b = static_cast<uint8_t>(text[i + scan.valid]);
    const bool ok = scan.valid == 1 ? (b >= lo && b <= hi)
                                    : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
    ++scan.valid;
  }
  return scan;
}

}  // namespace

size_t Utf8CharLengthAt(absl::string_view text, size_t i) {
  const CharScan scan = ScanChar(text, i);
  return (scan.needed != 0 && scan.valid == scan.needed) ? scan.needed : 0;
}

size_t DecodeUtf8At(absl::string_view text, size_t i, uint32_t* code_point) {
  const size_t n = Utf8CharLengthAt(text, i);
  if (n == 0) return 0;
  const uint8_t lead = static_cast<uint8_t>(text[i]);
  uint32_t cp = n == 1 ? lead : lead & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
  }
  *code_point = cp;
  return n;
}

bool Utf8EndsWithIncompleteChar(absl::string_view text) {
  // An unfinished character starts at most 3 bytes from the end.
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t i = n - back;
    const uint8_t b = static_cast<uint8_t>(text[i]);
    if (b >= 0x80 && b <= 0xBF) continue;  // continuation: keep looking
    const CharScan scan = ScanChar(text, i);
    return scan.needed > back && scan.valid == back;
  }
  return false;
}

size_t Utf8CompletePrefixLength(absl::string_view text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t i = n - back;
    const uint8_t b = static_cast<uint8_t>(text[i]);
    if (b >= 0x80 && b <= 0xBF) continue;
    const CharScan scan = ScanChar(text, i);
    return (scan.needed > back && scan.valid == back) ? i : n;
  }
  return n;
}

absl::Status ValidateUtf8(absl::string_view text, absl::string_view field) {
  size_t i = 0;
  while (i < text.size()) {
    const CharScan scan = ScanChar(text, i);
    if (scan.needed == 0 || scan.valid != scan.needed) {
      const size_t bad = i + scan.valid;
      if (bad >= text.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, " is not valid UTF-8: character at offset ", i,
            " is cut off at the end (", text.size(), " bytes)"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          field, " is not valid UTF-8: bad byte 0x",
          absl::Hex(static_cast<uint8_t>(text[bad]), absl::kZeroPad2),
          " at offset ", bad, " of ", text.size(), " bytes"));
    }
    i += scan.needed;
  }
  return absl::OkStatus();
}

size_t Utf8SequenceLength(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

}  // namespace fm
