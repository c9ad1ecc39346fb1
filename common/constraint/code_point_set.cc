// CodePointSet: range algebra, and the UTF-8 split (a range is cut where
// its ends' encodings differ in more than the last bytes' ranges).
#include "common/constraint/code_point_set.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"

namespace fm::constraint {
namespace {

constexpr uint32_t kSurrogateLo = 0xD800;
constexpr uint32_t kSurrogateHi = 0xDFFF;

int EncodedLength(uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

void Encode(uint32_t cp, int n, uint8_t* out) {
  static constexpr uint8_t kLead[] = {0, 0, 0xC0, 0xE0, 0xF0};
  for (int k = n - 1; k > 0; --k) {
    out[k] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    cp >>= 6;
  }
  out[0] = static_cast<uint8_t>(n == 1 ? cp : (kLead[n] | cp));
}

// [lo, hi] all of encoded length n.
void Split(uint32_t lo, uint32_t hi, int n,
           std::vector<CodePointSet::ByteRanges>* out) {
  for (int i = 1; i < n; ++i) {
    const uint32_t m = (uint32_t{1} << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        Split(lo, lo | m, n, out);
        Split((lo | m) + 1, hi, n, out);
        return;
      }
      if ((hi & m) != m) {
        Split(lo, (hi & ~m) - 1, n, out);
        Split(hi & ~m, hi, n, out);
        return;
      }
    }
  }
  uint8_t a[4], b[4];
  Encode(lo, n, a);
  Encode(hi, n, b);
  CodePointSet::ByteRanges seq;
  for (int k = 0; k < n; ++k) seq.push_back({a[k], b[k]});
  out->push_back(std::move(seq));
}

}  // namespace

bool ParseHexScalar(absl::string_view text, size_t* i, int digits,
                    uint32_t* out) {
  uint32_t value = 0;
  for (int k = 0; k < digits; ++k, ++*i) {
    if (*i >= text.size() || !absl::ascii_isxdigit(text[*i])) return false;
    const char c = absl::ascii_tolower(text[*i]);
    value = value * 16 + (absl::ascii_isdigit(c) ? c - '0' : c - 'a' + 10);
  }
  if (value > kMaxCodePoint ||
      (value >= kSurrogateLo && value <= kSurrogateHi)) {
    return false;
  }
  *out = value;
  return true;
}

void CodePointSet::Add(uint32_t lo, uint32_t hi) {
  if (lo > hi) return;
  hi = std::min(hi, kMaxCodePoint);
  // Surrogates are not scalar values: cut them out.
  if (lo <= kSurrogateHi && hi >= kSurrogateLo) {
    if (lo < kSurrogateLo) ranges_.push_back({lo, kSurrogateLo - 1});
    if (hi > kSurrogateHi) ranges_.push_back({kSurrogateHi + 1, hi});
  } else {
    ranges_.push_back({lo, hi});
  }
  Normalize();
}

void CodePointSet::Add(const CodePointSet& other) {
  ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
  Normalize();
}

void CodePointSet::Normalize() {
  std::sort(ranges_.begin(), ranges_.end());
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& r : ranges_) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  ranges_ = std::move(merged);
}

CodePointSet CodePointSet::Complement() const {
  CodePointSet out;
  uint32_t next = 0;
  for (const auto& [lo, hi] : ranges_) {
    if (lo > next) out.Add(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.Add(next, kMaxCodePoint);
  return out;
}

CodePointSet CodePointSet::Intersect(const CodePointSet& other) const {
  CodePointSet out;
  size_t i = 0, j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    const auto& a = ranges_[i];
    const auto& b = other.ranges_[j];
    const uint32_t lo = std::max(a.first, b.first);
    const uint32_t hi = std::min(a.second, b.second);
    if (lo <= hi) out.ranges_.push_back({lo, hi});
    (a.second < b.second) ? ++i : ++j;
  }
  return out;
}

bool CodePointSet::Contains(uint32_t cp) const {
  auto it =
      std::upper_bound(ranges_.begin(), ranges_.end(), cp,
                       [](uint32_t v, const std::pair<uint32_t, uint32_t>& r) {
                         return v < r.first;
                       });
  return it != ranges_.begin() && std::prev(it)->second >= cp;
}

std::vector<CodePointSet::ByteRanges> CodePointSet::Utf8Sequences() const {
  static constexpr uint32_t kLengthEnds[] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
  std::vector<ByteRanges> out;
  for (auto [lo, hi] : ranges_) {
    while (lo <= hi) {
      const int n = EncodedLength(lo);
      const uint32_t end = std::min(hi, kLengthEnds[n - 1]);
      Split(lo, end, n, &out);
      if (end == hi) break;
      lo = end + 1;
    }
  }
  return out;
}

}  // namespace fm::constraint
