// Horizontal sums of AVX registers in one fixed order (the F32 kernel's,
// which its scalar fallback matches), shared by every AVX2 kernel that
// reduces lanes. Include after <immintrin.h>.
#ifndef FM_SERVICES_MODEL_AVX2_REDUCE_H_
#define FM_SERVICES_MODEL_AVX2_REDUCE_H_

#include <immintrin.h>

namespace fm::model {

// (l0 + l2) + (l1 + l3).
__attribute__((target("avx2"))) inline float SumLanes4(__m128 v) {
  const __m128 s2 = _mm_add_ps(v, _mm_movehl_ps(v, v));  // 0+2, 1+3
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

// ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
__attribute__((target("avx2"))) inline float SumLanes8(__m256 v) {
  const __m128 s4 =
      _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  return SumLanes4(s4);
}

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_AVX2_REDUCE_H_
