// TextSummary: the byte groups as a table, UTF-8 as a DFA.
#include "common/constraint/text_summary.h"

namespace fm::constraint {
namespace {

// kGroupOf[b]: punctuation and whitespace one group each, then ranges.
constexpr std::array<int8_t, 256> MakeGroups() {
  std::array<int8_t, 256> g{};
  int next = 0;
  const int controls = next++;
  for (int b = 0; b < 0x20; ++b) g[b] = static_cast<int8_t>(controls);
  g[0x7F] = static_cast<int8_t>(controls);
  for (int b : {'\t', '\n', '\r'}) g[b] = static_cast<int8_t>(next++);
  for (int b = 0x20; b < 0x7F; ++b) {
    const bool digit = b >= '0' && b <= '9';
    const bool upper = b >= 'A' && b <= 'Z';
    const bool lower = b >= 'a' && b <= 'z';
    if (!digit && !upper && !lower) g[b] = static_cast<int8_t>(next++);
  }
  const int zero = next++, digits = next++;
  const int upper_hex = next++, upper = next++;
  const int lower_hex = next++, lower = next++;
  g['0'] = static_cast<int8_t>(zero);
  for (int b = '1'; b <= '9'; ++b) g[b] = static_cast<int8_t>(digits);
  for (int b = 'A'; b <= 'Z'; ++b)
    g[b] = static_cast<int8_t>(b <= 'F' ? upper_hex : upper);
  for (int b = 'a'; b <= 'z'; ++b)
    g[b] = static_cast<int8_t>(b <= 'f' ? lower_hex : lower);
  const int non_ascii = next++;
  for (int b = 0x80; b < 0x100; ++b) g[b] = static_cast<int8_t>(non_ascii);
  return g;
}

constexpr std::array<int8_t, 256> kGroupOf = MakeGroups();
static_assert(kGroupOf[0xFF] == kNonAsciiGroup,
              "kByteGroups must count the groups MakeGroups makes");

// Continuation states: what the next byte must be and where it leads.
constexpr int8_t kNeed1 = 1;    // 80-BF, then a boundary
constexpr int8_t kNeed2 = 2;    // 80-BF, then kNeed1
constexpr int8_t kNeed3 = 3;    // 80-BF, then kNeed2
constexpr int8_t kAfterE0 = 4;  // A0-BF (no overlong form), then kNeed1
constexpr int8_t kAfterED = 5;  // 80-9F (no surrogate), then kNeed1
constexpr int8_t kAfterF0 = 6;  // 90-BF (no overlong form), then kNeed2
constexpr int8_t kAfterF4 = 7;  // 80-8F (nothing above U+10FFFF), then kNeed2

}  // namespace

int ByteGroup(uint8_t b) { return kGroupOf[b]; }

std::string GroupBytes(int g) {
  std::string bytes;
  for (int b = 0; b < 256; ++b) {
    if (kGroupOf[b] == g) bytes.push_back(static_cast<char>(b));
  }
  return bytes;
}

int8_t Utf8Step(int8_t state, uint8_t b) {
  auto in = [b](int lo, int hi) { return b >= lo && b <= hi; };
  switch (state) {
    case kUtf8Boundary:
      if (b < 0x80) return kUtf8Boundary;
      if (in(0xC2, 0xDF)) return kNeed1;
      if (b == 0xE0) return kAfterE0;
      if (b == 0xED) return kAfterED;
      if (in(0xE1, 0xEF)) return kNeed2;
      if (b == 0xF0) return kAfterF0;
      if (in(0xF1, 0xF3)) return kNeed3;
      if (b == 0xF4) return kAfterF4;
      return kUtf8Error;
    case kNeed1:
      return in(0x80, 0xBF) ? kUtf8Boundary : kUtf8Error;
    case kNeed2:
      return in(0x80, 0xBF) ? kNeed1 : kUtf8Error;
    case kNeed3:
      return in(0x80, 0xBF) ? kNeed2 : kUtf8Error;
    case kAfterE0:
      return in(0xA0, 0xBF) ? kNeed1 : kUtf8Error;
    case kAfterED:
      return in(0x80, 0x9F) ? kNeed1 : kUtf8Error;
    case kAfterF0:
      return in(0x90, 0xBF) ? kNeed2 : kUtf8Error;
    case kAfterF4:
      return in(0x80, 0x8F) ? kNeed2 : kUtf8Error;
    default:
      return kUtf8Error;
  }
}

uint64_t SummarizeText(const std::string& text) {
  uint64_t summary = 0;
  int8_t utf8 = kUtf8Boundary;
  uint64_t characters = 0;
  for (char c : text) {
    const uint8_t b = static_cast<uint8_t>(c);
    summary |= uint64_t{1} << kGroupOf[b];
    if (utf8 != kUtf8Error) utf8 = Utf8Step(utf8, b);
    if ((b & 0xC0) != 0x80) ++characters;
  }
  if (utf8 == kUtf8Error) summary |= kNotUtf8;
  characters = std::min<uint64_t>(characters, kMaxSummaryLength);
  return summary | (characters << kLengthShift);
}

}  // namespace fm::constraint
