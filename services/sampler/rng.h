// Counter-based random numbers keyed by (seed, sequence, step): a draw never
// depends on batching, thread, replica or restart, only on its key.
#ifndef FM_SERVICES_SAMPLER_RNG_H_
#define FM_SERVICES_SAMPLER_RNG_H_

#include <array>
#include <cstdint>

namespace fm::sampler {

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11; the generator of Random123, cuRAND and JAX). A pure function of
// a 64-bit key and a 128-bit counter, using only 32-bit integer multiplies,
// so every machine and compiler produces the same bits.
//
// Key     = seed (low word, high word).
// Counter = (block, sequence, step low word, step high word), where `block`
//           counts 128-bit blocks drawn within one (seed, sequence, step).
//
// So the stream for (seed, sequence, step) is independent of every other
// sequence and step, and restarts identically whenever it is rebuilt.
// Not thread-safe; cheap to construct (no state beyond the key and counter).
class Rng {
 public:
  Rng(uint64_t seed, uint32_t sequence, uint64_t step);

  // The next 32 random bits of this (seed, sequence, step) stream.
  uint32_t NextU32();
  // Uniform in [0, 1) with 53 random bits.
  double NextUniform();

  // One Philox4x32-10 block; exposed for the known-answer tests.
  static std::array<uint32_t, 4> Philox(std::array<uint32_t, 4> counter,
                                        std::array<uint32_t, 2> key);

 private:
  std::array<uint32_t, 2> key_;
  std::array<uint32_t, 4> counter_;
  std::array<uint32_t, 4> block_{};
  int used_ = 4;  // Words of block_ already handed out.
};

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_RNG_H_
