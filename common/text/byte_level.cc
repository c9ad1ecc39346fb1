// The byte-level alphabet as tables built once.
#include "common/text/byte_level.h"

#include <array>
#include <cstdint>

namespace fm::text {
namespace {

struct Alphabet {
  std::array<uint16_t, 256> code_point;   // byte -> code point
  std::array<int16_t, 0x144> byte_of;     // code point -> byte, -1 if none

  Alphabet() {
    byte_of.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      // Printable ASCII and Latin-1 (except the soft hyphen) stand for
      // themselves; every other byte gets the next code point from 256 on.
      const bool printable = (b >= 0x21 && b <= 0x7E) ||
                             (b >= 0xA1 && b <= 0xAC) ||
                             (b >= 0xAE && b <= 0xFF);
      code_point[b] = static_cast<uint16_t>(printable ? b : 256 + extra++);
      byte_of[code_point[b]] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& GetAlphabet() {
  static const Alphabet* alphabet = new Alphabet();
  return *alphabet;
}

void AppendUtf8(uint16_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string BytesToByteLevel(absl::string_view bytes) {
  const Alphabet& a = GetAlphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) AppendUtf8(a.code_point[b], &out);
  return out;
}

bool ByteLevelToBytes(absl::string_view text, std::string* bytes) {
  const Alphabet& a = GetAlphabet();
  bytes->clear();
  bytes->reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
    } else {
      return false;  // the alphabet has only 1- and 2-byte characters
    }
    if (cp >= a.byte_of.size() || a.byte_of[cp] < 0) return false;
    bytes->push_back(static_cast<char>(a.byte_of[cp]));
  }
  return true;
}

}  // namespace fm::text
