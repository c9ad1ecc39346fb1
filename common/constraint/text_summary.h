// TextSummary: what a mask's shortcut needs to know of a token (or of every
// token in a trie subtree) in 64 bits, independent of any grammar — which
// byte groups its bytes fall in, whether it is UTF-8 (its last character
// may be cut short: the next token can finish it), and how many characters
// it starts (its length for a grammar that counts characters).
//
// The groups are a fixed partition of the 256 bytes into the sets that
// grammars tell apart in practice: each ASCII punctuation mark and
// whitespace byte alone, the other controls, two digit and four letter
// ranges (JSON's leading zero, hexadecimal), and all of non-ASCII as one
// (its structure is UTF-8's, checked separately). A grammar that splits a
// group only makes the shortcut less useful, never wrong: a group counts as
// allowed only when every byte in it is.
#ifndef FM_COMMON_CONSTRAINT_TEXT_SUMMARY_H_
#define FM_COMMON_CONSTRAINT_TEXT_SUMMARY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace fm::constraint {

inline constexpr int kByteGroups = 44;
inline constexpr int kNonAsciiGroup = kByteGroups - 1;
// Set when the text is not UTF-8 (a cut-short last character allowed).
inline constexpr uint64_t kNotUtf8 = uint64_t{1} << 44;
inline constexpr uint64_t kGroupBits = (uint64_t{1} << kByteGroups) - 1;
inline constexpr int kLengthShift = 48;
inline constexpr int32_t kMaxSummaryLength = 255;  // more counts as 255

// The group of byte b, 0..kByteGroups-1.
int ByteGroup(uint8_t b);
// Every byte of group g, ascending.
std::string GroupBytes(int g);

// UTF-8 as a DFA over bytes: kUtf8Boundary between characters, kUtf8Error
// once the bytes cannot be UTF-8, else how the current character must go
// on (overlong forms and surrogates refused, as the grammars refuse them).
inline constexpr int8_t kUtf8Boundary = 0;
inline constexpr int8_t kUtf8Error = -1;
int8_t Utf8Step(int8_t state, uint8_t b);

// The summary of `text` (of every byte, from a character boundary).
// Its length is the number of characters it starts: its bytes other than
// UTF-8 continuation bytes.
uint64_t SummarizeText(const std::string& text);

inline int32_t SummaryLength(uint64_t summary) {
  return static_cast<int32_t>((summary >> kLengthShift) & 0xFF);
}
// The summary of two sets of texts together.
inline uint64_t MergeSummaries(uint64_t a, uint64_t b) {
  const uint64_t length = std::max(SummaryLength(a), SummaryLength(b));
  return ((a | b) & ~(uint64_t{0xFF} << kLengthShift)) |
         (length << kLengthShift);
}

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_TEXT_SUMMARY_H_
