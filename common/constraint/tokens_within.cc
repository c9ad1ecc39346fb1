// TokensWithin: a byte per token, compared and packed eight at a time.
#include "common/constraint/tokens_within.h"

#include <algorithm>
#include <cstring>

#include "common/constraint/text_summary.h"

namespace fm::constraint {

TokensWithin::TokensWithin(const TokenTrie& trie, uint64_t groups) {
  const std::vector<uint64_t>& summaries = trie.token_summaries();
  lengths_.assign((summaries.size() + 63) / 64 * 64, kOutside);
  const uint64_t refused = (kGroupBits & ~groups) | kNotUtf8;
  for (size_t t = 0; t < summaries.size(); ++t) {
    const int32_t length = SummaryLength(summaries[t]);
    if (length > 0 && (summaries[t] & refused) == 0) {
      lengths_[t] = static_cast<uint8_t>(std::min(length, kMaxLength + 1));
    }
  }
}

const std::vector<uint64_t>& TokensWithin::UpTo(int32_t length) {
  length = std::clamp(length, 1, kMaxLength + 1);
  std::vector<uint64_t>& words = up_to_[length - 1];
  if (!words.empty()) return words;
  words.resize(lengths_.size() / 64);
  // Per byte x < 128: x + (128 - (length + 1)) stays within its byte and
  // has its top bit clear exactly when x <= length.
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kTops = kOnes * 0x80;
  const uint64_t add = kOnes * static_cast<uint64_t>(128 - (length + 1));
  for (size_t w = 0; w < words.size(); ++w) {
    uint64_t word = 0;
    for (int part = 0; part < 8; ++part) {
      uint64_t x;
      std::memcpy(&x, &lengths_[w * 64 + part * 8], sizeof(x));
      const uint64_t within = ~(x + add) & kTops;  // top bit per token
      // The eight top bits gathered into the product's top byte, the
      // first token lowest.
      const uint64_t bits = ((within >> 7) * 0x0102040810204080) >> 56;
      word |= bits << (8 * part);
    }
    words[w] = word;
  }
  return words;
}

int64_t TokensWithin::bytes() const {
  int64_t total = static_cast<int64_t>(lengths_.size());
  for (const std::vector<uint64_t>& words : up_to_) {
    total += static_cast<int64_t>(words.size() * sizeof(uint64_t));
  }
  return total;
}

}  // namespace fm::constraint
