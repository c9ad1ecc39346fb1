// libmvec's AVX2 variants, declared by their vector-ABI names (glibc
// exports them from libmvec.so.1, which libm's linker script pulls in):
// _ZGVdN8v_expf is the 8-lane AVX2 expf (max error 1 ulp, as glibc's
// libm-test-ulps lists it; glibc 2.22 and later), _ZGVdN8v_tanhf the
// 8-lane tanhf (glibc 2.35 and later; Debian 12 has 2.36).
#include "services/model/vector_math.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "services/model/cpu_features.h"

// Declared with AVX enabled: their __m256 is passed in a ymm register.
extern "C" {
__attribute__((target("avx2"))) __m256 _ZGVdN8v_expf(__m256 x);
__attribute__((target("avx2"))) __m256 _ZGVdN8v_tanhf(__m256 x);
}

namespace fm::model {
namespace {

#define FM_AVX2 __attribute__((target("avx2,fma")))

// f over x in blocks of 8; the last partial block through a padded copy,
// so every element goes through the same vector function.
template <__m256 (*F)(__m256)>
FM_AVX2 void Apply8(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, F(_mm256_loadu_ps(x + i)));
  if (i == n) return;
  alignas(32) float tail[8] = {};
  std::memcpy(tail, x + i, sizeof(float) * (n - i));
  _mm256_store_ps(tail, F(_mm256_load_ps(tail)));
  std::memcpy(out + i, tail, sizeof(float) * (n - i));
}

FM_AVX2 __m256 Exp8(__m256 x) { return _ZGVdN8v_expf(x); }
FM_AVX2 __m256 Tanh8(__m256 x) { return _ZGVdN8v_tanhf(x); }

}  // namespace

void ExpArray(const float* x, float* out, int64_t n) {
  if (Cpu().avx2_fma_f16c) return Apply8<Exp8>(x, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(x[i]);
}

void TanhArray(const float* x, float* out, int64_t n) {
  if (Cpu().avx2_fma_f16c) return Apply8<Tanh8>(x, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = std::tanh(x[i]);
}

}  // namespace fm::model
