// Philox4x32-10 and the (seed, sequence, step) stream built on it; see
// rng.h for the key and counter layout.
#include "services/sampler/rng.h"

namespace fm::sampler {
namespace {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // Golden ratio.
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1.
constexpr int kPhiloxRounds = 10;

inline void MulHiLo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  *lo = static_cast<uint32_t>(product);
}

}  // namespace

std::array<uint32_t, 4> Rng::Philox(std::array<uint32_t, 4> counter,
                                    std::array<uint32_t, 2> key) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      key[0] += kPhiloxW0;
      key[1] += kPhiloxW1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    MulHiLo(kPhiloxM0, counter[0], &hi0, &lo0);
    MulHiLo(kPhiloxM1, counter[2], &hi1, &lo1);
    counter = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
  }
  return counter;
}

Rng::Rng(uint64_t seed, uint32_t sequence, uint64_t step)
    : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
      counter_{0u, sequence, static_cast<uint32_t>(step),
               static_cast<uint32_t>(step >> 32)} {}

uint32_t Rng::NextU32() {
  if (used_ == 4) {
    block_ = Philox(counter_, key_);
    ++counter_[0];
    used_ = 0;
  }
  return block_[used_++];
}

double Rng::NextUniform() {
  const uint64_t hi = NextU32();
  const uint64_t lo = NextU32();
  const uint64_t bits = ((hi << 32) | lo) >> 11;  // 53 bits.
  return static_cast<double>(bits) * 0x1.0p-53;
}

}  // namespace fm::sampler
