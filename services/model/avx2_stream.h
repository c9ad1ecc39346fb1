// Unaligned 32-byte loads and the software prefetch of weights that a
// kernel streams front to back, shared by the integer AVX2 and AVX-512
// kernels.
#ifndef FM_SERVICES_MODEL_AVX2_STREAM_H_
#define FM_SERVICES_MODEL_AVX2_STREAM_H_

#include <immintrin.h>

#include <cstdint>

namespace fm::model {

__attribute__((target("avx2"))) inline __m256i Load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// How far ahead of the bytes being read the kernels prefetch: a few KiB
// hides the memory latency the hardware prefetcher alone leaves (2, 4 and
// 8 KiB measured alike on an AMD EPYC; on an Intel Xeon with the AVX-512
// VNNI kernels 6 KiB decoded 110M Q6_K 1.13x and Q4_K_M 1.05x faster than
// 2 KiB, 16 KiB no faster than 6: bench/model/RESULTS.md, run 5).
inline constexpr int64_t kPrefetchAhead = 6144;

// Prefetches the `bytes` that lie kPrefetchAhead past p, line by line.
__attribute__((target("avx2"))) inline void PrefetchAhead(const void* p,
                                                          int64_t bytes) {
  const char* c = static_cast<const char*>(p) + kPrefetchAhead;
  for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
}

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_AVX2_STREAM_H_
