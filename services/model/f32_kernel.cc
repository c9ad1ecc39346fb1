// The batched F32 dot-product kernel: tiles of 4 weight rows x 2 input rows
// in AVX2 registers, one accumulator per (row, input) pair.
#include "services/model/f32_kernel.h"

// GCC 12's AVX-512 headers trip -Wuninitialized on their own
// _mm512_undefined_* placeholders (GCC bug 105593); nothing here is
// uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace fm::model {
namespace {

// Scalar path for CPUs without AVX2: the same lane structure, without FMA.
float DotScalar(const float* w, const float* x, int64_t cols) {
  float lanes[8] = {};
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += w[c + l] * x[c + l];
  }
  float sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
              ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
  for (; c < cols; ++c) sum += w[c] * x[c];
  return sum;
}

void MatMulScalar(const float* w, const float* x, int64_t n, int64_t rows,
                  int64_t cols, int64_t row_begin, int64_t row_end,
                  float* out) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      out[i * rows + r] = DotScalar(w + r * cols, x + i * cols, cols);
    }
  }
}

__attribute__((target("avx2,fma"))) inline float Reduce(__m256 v) {
  // ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), as DotScalar.
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  const __m128 s4 = _mm_add_ps(lo, hi);                     // l0+l4 .. l3+l7
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));  // (0+2), (1+3)
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

// RB weight rows x NB input rows; cols_vec = cols rounded down to 8.
// `pf` points at the weight rows of the next tile: they are prefetched
// while this one is computed (measured here: a 4-row matvec streams at
// ~12 GB/s without it and ~22 GB/s with it, close to a plain sum).
template <int RB, int NB>
__attribute__((target("avx2,fma"))) inline void Tile(
    const float* w, const float* x, int64_t rows, int64_t cols,
    int64_t cols_vec, int64_t r0, int64_t i0, const float* pf, float* out) {
  __m256 acc[RB][NB];
  for (int a = 0; a < RB; ++a) {
    for (int b = 0; b < NB; ++b) acc[a][b] = _mm256_setzero_ps();
  }
  const float* wr[RB];
  for (int a = 0; a < RB; ++a) wr[a] = w + (r0 + a) * cols;
  const float* xi[NB];
  for (int b = 0; b < NB; ++b) xi[b] = x + (i0 + b) * cols;
  for (int64_t c = 0; c < cols_vec; c += 8) {
    if ((c & 15) == 0) {
      for (int a = 0; a < RB; ++a) {
        _mm_prefetch(reinterpret_cast<const char*>(pf + a * cols + c),
                     _MM_HINT_T0);
      }
    }
    __m256 wv[RB];
    for (int a = 0; a < RB; ++a) wv[a] = _mm256_loadu_ps(wr[a] + c);
    for (int b = 0; b < NB; ++b) {
      const __m256 xv = _mm256_loadu_ps(xi[b] + c);
      for (int a = 0; a < RB; ++a) {
        acc[a][b] = _mm256_fmadd_ps(wv[a], xv, acc[a][b]);
      }
    }
  }
  for (int a = 0; a < RB; ++a) {
    for (int b = 0; b < NB; ++b) {
      float sum = Reduce(acc[a][b]);
      for (int64_t c = cols_vec; c < cols; ++c) sum += wr[a][c] * xi[b][c];
      out[(i0 + b) * rows + r0 + a] = sum;
    }
  }
}

__attribute__((target("avx2,fma"))) void MatMulAvx2(
    const float* w, const float* x, int64_t n, int64_t rows, int64_t cols,
    int64_t row_begin, int64_t row_end, float* out) {
  const int64_t cols_vec = cols / 8 * 8;
  int64_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) {
    const float* pf = w + (r + 8 <= row_end ? r + 4 : r) * cols;
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
      Tile<4, 2>(w, x, rows, cols, cols_vec, r, i, pf, out);
    }
    if (i < n) Tile<4, 1>(w, x, rows, cols, cols_vec, r, i, pf, out);
  }
  for (; r < row_end; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      Tile<1, 1>(w, x, rows, cols, cols_vec, r, i, w + r * cols, out);
    }
  }
}

// Sum of the 16 lanes (not _mm512_reduce_add_ps: GCC 12 warns inside it).
__attribute__((target("avx512f"))) inline float Reduce512(__m512 v) {
  const __m512 hi = _mm512_shuffle_f32x4(v, v, 0xee);  // lanes 8..15 twice
  const __m256 s8 =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_castps512_ps256(hi));
  const __m128 s4 =
      _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

// The AVX-512 version: 32 registers allow 4 x 4 tiles of 16-lane
// accumulators (16 independent FMA chains), twice the AVX2 tile's work.
template <int RB, int NB>
__attribute__((target("avx512f"))) inline void Tile512(
    const float* w, const float* x, int64_t rows, int64_t cols,
    int64_t cols_vec, int64_t r0, int64_t i0, const float* pf, float* out) {
  __m512 acc[RB][NB];
  for (int a = 0; a < RB; ++a) {
    for (int b = 0; b < NB; ++b) acc[a][b] = _mm512_setzero_ps();
  }
  const float* wr[RB];
  for (int a = 0; a < RB; ++a) wr[a] = w + (r0 + a) * cols;
  const float* xi[NB];
  for (int b = 0; b < NB; ++b) xi[b] = x + (i0 + b) * cols;
  for (int64_t c = 0; c < cols_vec; c += 16) {
    for (int a = 0; a < RB; ++a) {
      _mm_prefetch(reinterpret_cast<const char*>(pf + a * cols + c),
                   _MM_HINT_T0);
    }
    __m512 wv[RB];
    for (int a = 0; a < RB; ++a) wv[a] = _mm512_loadu_ps(wr[a] + c);
    for (int b = 0; b < NB; ++b) {
      const __m512 xv = _mm512_loadu_ps(xi[b] + c);
      for (int a = 0; a < RB; ++a) {
        acc[a][b] = _mm512_fmadd_ps(wv[a], xv, acc[a][b]);
      }
    }
  }
  for (int a = 0; a < RB; ++a) {
    for (int b = 0; b < NB; ++b) {
      float sum = Reduce512(acc[a][b]);
      for (int64_t c = cols_vec; c < cols; ++c) sum += wr[a][c] * xi[b][c];
      out[(i0 + b) * rows + r0 + a] = sum;
    }
  }
}

__attribute__((target("avx512f"))) void MatMulAvx512(
    const float* w, const float* x, int64_t n, int64_t rows, int64_t cols,
    int64_t row_begin, int64_t row_end, float* out) {
  const int64_t cols_vec = cols / 16 * 16;
  int64_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) {
    const float* pf = w + (r + 8 <= row_end ? r + 4 : r) * cols;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      Tile512<4, 4>(w, x, rows, cols, cols_vec, r, i, pf, out);
    }
    for (; i + 2 <= n; i += 2) {
      Tile512<4, 2>(w, x, rows, cols, cols_vec, r, i, pf, out);
    }
    if (i < n) Tile512<4, 1>(w, x, rows, cols, cols_vec, r, i, pf, out);
  }
  for (; r < row_end; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      Tile512<1, 1>(w, x, rows, cols, cols_vec, r, i, w + r * cols, out);
    }
  }
}

bool HasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

bool HasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace

void MatMulF32Rows(const float* w, const float* x, int64_t n, int64_t rows,
                   int64_t cols, int64_t row_begin, int64_t row_end,
                   float* out) {
  static const bool avx512 = HasAvx512();
  static const bool avx2 = HasAvx2();
  if (avx512) {
    MatMulAvx512(w, x, n, rows, cols, row_begin, row_end, out);
  } else if (avx2) {
    MatMulAvx2(w, x, n, rows, cols, row_begin, row_end, out);
  } else {
    MatMulScalar(w, x, n, rows, cols, row_begin, row_end, out);
  }
}

}  // namespace fm::model
