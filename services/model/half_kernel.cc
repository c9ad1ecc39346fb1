// Four inputs per pass share each 8-weight load; two accumulators per
// input over 16 weights for independent FMA chains.
#include "services/model/half_kernel.h"

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "common/half.h"
#include "services/model/avx2_reduce.h"
#include "services/model/cpu_features.h"

namespace fm::model {
namespace {

#define FM_AVX2 __attribute__((target("avx2,fma,f16c")))

template <bool kBf16>
FM_AVX2 inline __m256 Widen8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kBf16) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(h);
  }
}

template <bool kBf16>
inline float WidenOne(uint16_t v) {
  if constexpr (kBf16) {
    const uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f;
    __builtin_memcpy(&f, &bits, sizeof(f));
    return f;
  } else {
    return F16ToF32(v);
  }
}

template <bool kBf16, int NB>
FM_AVX2 void Row(const uint16_t* wr, const float* x, int64_t cols, int64_t rows,
                 int64_t r, int64_t i0, float* out) {
  const int64_t vec = cols / 16 * 16;
  __m256 a0[NB], a1[NB];
  for (int j = 0; j < NB; ++j) {
    a0[j] = _mm256_setzero_ps();
    a1[j] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < vec; k += 16) {
    const __m256 w0 = Widen8<kBf16>(wr + k);
    const __m256 w1 = Widen8<kBf16>(wr + k + 8);
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) {
      const float* xj = x + (i0 + j) * cols + k;
      a0[j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xj), a0[j]);
      a1[j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xj + 8), a1[j]);
    }
  }
  for (int j = 0; j < NB; ++j) {
    float sum = SumLanes8(_mm256_add_ps(a0[j], a1[j]));
    const float* xj = x + (i0 + j) * cols;
    for (int64_t k = vec; k < cols; ++k) sum += WidenOne<kBf16>(wr[k]) * xj[k];
    out[(i0 + j) * rows + r] = sum;
  }
}

template <bool kBf16>
FM_AVX2 void Rows(const uint16_t* w, const float* x, int64_t n, int64_t rows,
                  int64_t cols, int64_t row_begin, int64_t row_end,
                  float* out) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint16_t* wr = w + r * cols;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) Row<kBf16, 4>(wr, x, cols, rows, r, i, out);
    for (; i + 2 <= n; i += 2) Row<kBf16, 2>(wr, x, cols, rows, r, i, out);
    if (i < n) Row<kBf16, 1>(wr, x, cols, rows, r, i, out);
  }
}

}  // namespace

bool HasHalfKernel() { return Cpu().avx2_fma_f16c; }

void MatMulHalfRows(DType dtype, const uint16_t* w, const float* x, int64_t n,
                    int64_t rows, int64_t cols, int64_t row_begin,
                    int64_t row_end, float* out) {
  if (dtype == DType::kBF16) {
    Rows<true>(w, x, n, rows, cols, row_begin, row_end, out);
  } else {
    Rows<false>(w, x, n, rows, cols, row_begin, row_end, out);
  }
}

}  // namespace fm::model
