// CodePointSet: a set of Unicode scalar values as sorted, disjoint ranges,
// and its UTF-8 form as sequences of byte ranges (one sequence per run of
// code points whose encodings differ only within byte ranges), so that a
// character class becomes a handful of grammar alternatives.
#ifndef FM_COMMON_CONSTRAINT_CODE_POINT_SET_H_
#define FM_COMMON_CONSTRAINT_CODE_POINT_SET_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace fm::constraint {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// `digits` hexadecimal digits at text[*i] as a Unicode scalar value,
// advancing *i past them; false (for the caller's message) when a digit is
// missing or the value is a surrogate or beyond U+10FFFF.
bool ParseHexScalar(absl::string_view text, size_t* i, int digits,
                    uint32_t* out);

class CodePointSet {
 public:
  void Add(uint32_t lo, uint32_t hi);  // inclusive; hi <= kMaxCodePoint
  void Add(const CodePointSet& other);
  // Every scalar value not in the set (surrogates are never in a set).
  CodePointSet Complement() const;
  // The code points in both sets.
  CodePointSet Intersect(const CodePointSet& other) const;
  bool Contains(uint32_t cp) const;
  bool empty() const { return ranges_.empty(); }
  // Sorted, disjoint, surrogates removed.
  const std::vector<std::pair<uint32_t, uint32_t>>& ranges() const {
    return ranges_;
  }

  // One entry per UTF-8 byte sequence shape: bytes[k] is the inclusive
  // range of the k-th byte.
  using ByteRanges = std::vector<std::pair<uint8_t, uint8_t>>;
  std::vector<ByteRanges> Utf8Sequences() const;

 private:
  void Normalize();
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_CODE_POINT_SET_H_
