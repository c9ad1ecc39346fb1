// The batched F32 dot-product kernel (tiles of 1 weight row x 1-3 inputs or
// 4 x 4, AVX-512 or AVX2, one accumulator per (row, input) pair) and the
// small vector ops of attention.
#include "services/model/f32_kernel.h"

#include "services/model/cpu_features.h"

// GCC 12's AVX-512 headers trip -Wuninitialized on their own
// _mm512_undefined_* placeholders (GCC bug 105593); nothing here is
// uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "services/model/avx2_reduce.h"

#include <algorithm>
#include <cstdint>

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

// Every SIMD dot product below is summed the same way: one vector
// accumulator over the vector-width blocks of columns in order, then its
// lanes, then the scalar tail. All tiles use this order, so a row's result
// does not depend on the tile (hence on the batch) it is computed in.
//
// Tile shapes, measured here on 42M-shape matrices read from a file mapping
// (one thread, against a plain streaming sum of the same bytes in the same
// run; this host's bandwidth moves 20-40% from second to second, so only
// such paired ratios are comparable):
// - up to 3 inputs: one weight row at a time, a single sequential stream,
//   reads at 93-107% of the sum for one input and ~100% for two; tiles of
//   2-4 rows with one input read at 60-90%.
// - 4 or more inputs (compute-bound): 4 rows x 4 inputs, 16 accumulators,
//   one load per FMA instead of 1.25-2: 83% of the sum at 8 inputs, against
//   51-62% for one-row tiles or two accumulators per dot product (which
//   spill registers at useful tile sizes).
// Every tile prefetches the rows two tiles ahead: at 4+ inputs the loop is
// too slow for the hardware prefetcher to keep enough lines in flight (73%
// -> 83% at 8 inputs, 83% -> 113% at 4); for one input it costs nothing.
// Inputs must not alias `out`; 64-byte aligned inputs are fastest (a
// misaligned 64-byte load splits two cache lines). Each dot's 8 lanes are
// summed by SumLanes8, in DotScalar's order.

// Prefetches the line at byte `offset` of each of RB rows two tiles ahead.
template <int RB>
inline void PrefetchAhead(const float* const* rows, int64_t cols, int64_t c) {
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) {
    _mm_prefetch(reinterpret_cast<const char*>(rows[a] + 2 * RB * cols + c),
                 _MM_HINT_T0);
  }
}

// AVX2: weight rows r0 .. r0 + RB - 1 times inputs i0 .. i0 + NB - 1.
template <int RB, int NB>
__attribute__((target("avx2,fma"))) inline void Tile(const float* w,
                                                     const float* x,
                                                     int64_t rows, int64_t cols,
                                                     int64_t r0, int64_t i0,
                                                     float* out) {
  __m256 acc[RB][NB];
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) acc[a][b] = _mm256_setzero_ps();
  }
  const float* wr[RB];
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) wr[a] = w + (r0 + a) * cols;
  const float* xi[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) xi[b] = x + (i0 + b) * cols;
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    if (c % 16 == 0) PrefetchAhead<RB>(wr, cols, c);
    __m256 wv[RB];
#pragma GCC unroll 4
    for (int a = 0; a < RB; ++a) wv[a] = _mm256_loadu_ps(wr[a] + c);
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      const __m256 xv = _mm256_loadu_ps(xi[b] + c);
#pragma GCC unroll 4
      for (int a = 0; a < RB; ++a) {
        acc[a][b] = _mm256_fmadd_ps(wv[a], xv, acc[a][b]);
      }
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      float sum = SumLanes8(acc[a][b]);
      for (int64_t t = c; t < cols; ++t) sum += wr[a][t] * xi[b][t];
      out[(i0 + b) * rows + r0 + a] = sum;
    }
  }
}

__attribute__((target("avx2,fma"))) void MatMulAvx2(
    const float* w, const float* x, int64_t n, int64_t rows, int64_t cols,
    int64_t row_begin, int64_t row_end, float* out) {
  int64_t r = row_begin;
  if (n >= 4) {
    for (; r + 4 <= row_end; r += 4) {
      int64_t i = 0;
      for (; i + 2 <= n; i += 2) Tile<4, 2>(w, x, rows, cols, r, i, out);
      if (i < n) Tile<4, 1>(w, x, rows, cols, r, i, out);
    }
  }
  for (; r < row_end; ++r) {
    int64_t i = 0;
    for (; i + 3 <= n; i += 3) Tile<1, 3>(w, x, rows, cols, r, i, out);
    for (; i + 2 <= n; i += 2) Tile<1, 2>(w, x, rows, cols, r, i, out);
    if (i < n) Tile<1, 1>(w, x, rows, cols, r, i, out);
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

// AVX-512 reads weight rows with aligned loads only. A row that starts
// `shift` floats past a 64-byte boundary (legacy llama2.c files put every
// tensor 28 bytes off: their header is 28 bytes) is rebuilt block by block
// from two aligned loads with one two-source permute, which gives exactly
// the floats an unaligned load would. Measured here (42M-shape matrices,
// one thread): unaligned weight loads, which split cache lines, stream at
// ~70% of a plain sum; the permuted aligned loads at 91-99%. The first
// aligned load starts in the row's first cache line and the last one ends
// in its last, so no load touches memory outside the row's cache lines.
enum class RowLoad {
  kAligned,    // rows start on 64-byte boundaries
  kShifted,    // all rows start `shift` floats past one
  kUnaligned,  // rows differ (rows of a length that is not a multiple of
               // 16 floats, as in tiny models): plain unaligned loads
};

struct RowShift {
  int shift = 0;  // floats between the aligned base and the row start
  __m512i idx;    // selects lanes shift .. shift + 15 of (carry, next)
};

// Block c of the row whose (shift-adjusted) start is `base`. kShifted
// carries the aligned block that straddles this one and the next.
template <RowLoad kLoad>
__attribute__((target("avx512f"))) inline __m512 LoadBlock(const float* base,
                                                           int64_t c,
                                                           const RowShift& rs,
                                                           __m512* carry) {
  if (kLoad == RowLoad::kAligned) return _mm512_load_ps(base + c);
  if (kLoad == RowLoad::kUnaligned) return _mm512_loadu_ps(base + c);
  const __m512 next = _mm512_load_ps(base + c + 16);
  const __m512 v = _mm512_permutex2var_ps(*carry, rs.idx, next);
  *carry = next;
  return v;
}

// AVX-512: weight rows r0 .. r0 + RB - 1 times inputs i0 .. i0 + NB - 1.
template <int RB, int NB, RowLoad kLoad>
__attribute__((target("avx512f"))) inline void Tile512(
    const float* w, const float* x, int64_t rows, int64_t cols,
    const RowShift& rs, int64_t r0, int64_t i0, float* out) {
  __m512 acc[RB][NB];
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) acc[a][b] = _mm512_setzero_ps();
  }
  const float* wr[RB];    // the rows
  const float* base[RB];  // where LoadBlock reads them from
  __m512 carry[RB];
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) {
    wr[a] = w + (r0 + a) * cols;
    base[a] = wr[a] - rs.shift;
    carry[a] = kLoad == RowLoad::kShifted ? _mm512_load_ps(base[a])
                                          : _mm512_setzero_ps();
  }
  const float* xi[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) xi[b] = x + (i0 + b) * cols;
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    PrefetchAhead<RB>(base, cols, c);
    __m512 wv[RB];
#pragma GCC unroll 4
    for (int a = 0; a < RB; ++a) {
      wv[a] = LoadBlock<kLoad>(base[a], c, rs, &carry[a]);
    }
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      const __m512 xv = _mm512_loadu_ps(xi[b] + c);
#pragma GCC unroll 4
      for (int a = 0; a < RB; ++a) {
        acc[a][b] = _mm512_fmadd_ps(wv[a], xv, acc[a][b]);
      }
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < RB; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      float sum = Reduce512(acc[a][b]);
      for (int64_t t = c; t < cols; ++t) sum += wr[a][t] * xi[b][t];
      out[(i0 + b) * rows + r0 + a] = sum;
    }
  }
}

template <RowLoad kLoad>
__attribute__((target("avx512f"))) void Rows512(
    const float* w, const float* x, int64_t n, int64_t rows, int64_t cols,
    const RowShift& rs, int64_t row_begin, int64_t row_end, float* out) {
  int64_t r = row_begin;
  if (n >= 4) {
    for (; r + 4 <= row_end; r += 4) {
      int64_t i = 0;
      for (; i + 4 <= n; i += 4) {
        Tile512<4, 4, kLoad>(w, x, rows, cols, rs, r, i, out);
      }
      for (; i + 2 <= n; i += 2) {
        Tile512<4, 2, kLoad>(w, x, rows, cols, rs, r, i, out);
      }
      if (i < n) Tile512<4, 1, kLoad>(w, x, rows, cols, rs, r, i, out);
    }
  }
  for (; r < row_end; ++r) {
    int64_t i = 0;
    for (; i + 3 <= n; i += 3) {
      Tile512<1, 3, kLoad>(w, x, rows, cols, rs, r, i, out);
    }
    for (; i + 2 <= n; i += 2) {
      Tile512<1, 2, kLoad>(w, x, rows, cols, rs, r, i, out);
    }
    if (i < n) Tile512<1, 1, kLoad>(w, x, rows, cols, rs, r, i, out);
  }
}

__attribute__((target("avx512f"))) void MatMulAvx512(
    const float* w, const float* x, int64_t n, int64_t rows, int64_t cols,
    int64_t row_begin, int64_t row_end, float* out) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(w);
  RowShift rs;
  rs.idx = _mm512_setzero_si512();
  if (addr % sizeof(float) != 0 || cols % 16 != 0) {
    Rows512<RowLoad::kUnaligned>(w, x, n, rows, cols, rs, row_begin, row_end,
                                 out);
    return;
  }
  rs.shift = static_cast<int>(addr % 64 / sizeof(float));
  if (rs.shift == 0) {
    Rows512<RowLoad::kAligned>(w, x, n, rows, cols, rs, row_begin, row_end,
                               out);
    return;
  }
  rs.idx = _mm512_add_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
      _mm512_set1_epi32(rs.shift));
  Rows512<RowLoad::kShifted>(w, x, n, rows, cols, rs, row_begin, row_end, out);
}

// Attention (head_size floats per position, typically 32..128). Scores:
// four positions at a time for independent FMA chains, one accumulator per
// position over 16-float blocks. Mix: up to 64 output floats in registers
// while the positions stream by.
__attribute__((target("avx512f"))) void Scores512(const float* q,
                                                  const float* keys,
                                                  int64_t stride, int64_t n_pos,
                                                  int64_t head_size,
                                                  float scale, float* scores) {
  const int64_t vec = head_size / 16 * 16;
  auto tail = [&](const float* k, float sum) {
    for (int64_t i = vec; i < head_size; ++i) sum += q[i] * k[i];
    return sum * scale;
  };
  int64_t t = 0;
  for (; t + 4 <= n_pos; t += 4) {
    const float* k[4];
    __m512 acc[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      k[j] = keys + (t + j) * stride;
      acc[j] = _mm512_setzero_ps();
    }
    for (int64_t i = 0; i < vec; i += 16) {
      const __m512 qv = _mm512_loadu_ps(q + i);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        acc[j] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k[j] + i), acc[j]);
      }
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) scores[t + j] = tail(k[j], Reduce512(acc[j]));
  }
  for (; t < n_pos; ++t) {
    const float* k = keys + t * stride;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < vec; i += 16) {
      acc =
          _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(k + i), acc);
    }
    scores[t] = tail(k, Reduce512(acc));
  }
}

__attribute__((target("avx512f"))) void Mix512(const float* weights,
                                               const float* values,
                                               int64_t stride, int64_t n_pos,
                                               int64_t head_size, float* out) {
  const int64_t vec = head_size / 16 * 16;
  for (int64_t c = 0; c < vec; c += 64) {
    const int nv = static_cast<int>(std::min<int64_t>(4, (vec - c) / 16));
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t t = 0; t < n_pos; ++t) {
      const __m512 wt = _mm512_set1_ps(weights[t]);
      const float* v = values + t * stride + c;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        if (j < nv) {
          acc[j] = _mm512_fmadd_ps(wt, _mm512_loadu_ps(v + 16 * j), acc[j]);
        }
      }
    }
    for (int j = 0; j < nv; ++j) _mm512_storeu_ps(out + c + 16 * j, acc[j]);
  }
  for (int64_t i = vec; i < head_size; ++i) {
    float sum = 0.0f;
    for (int64_t t = 0; t < n_pos; ++t)
      sum += weights[t] * values[t * stride + i];
    out[i] = sum;
  }
}

// Without AVX-512 (llama2.c's loops; GCC vectorizes the mix).
void ScoresScalar(const float* q, const float* keys, int64_t stride,
                  int64_t n_pos, int64_t head_size, float scale,
                  float* scores) {
  for (int64_t t = 0; t < n_pos; ++t) {
    const float* k = keys + t * stride;
    float sum = 0.0f;
    for (int64_t i = 0; i < head_size; ++i) sum += q[i] * k[i];
    scores[t] = sum * scale;
  }
}

void MixScalar(const float* weights, const float* values, int64_t stride,
               int64_t n_pos, int64_t head_size, float* out) {
  std::fill(out, out + head_size, 0.0f);
  for (int64_t t = 0; t < n_pos; ++t) {
    const float* v = values + t * stride;
    for (int64_t i = 0; i < head_size; ++i) out[i] += weights[t] * v[i];
  }
}

bool HasAvx512() { return Cpu().avx512; }

bool HasAvx2() { return Cpu().avx2_fma_f16c; }

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

void AttentionScores(const float* q, const float* keys, int64_t stride,
                     int64_t n_pos, int64_t head_size, float scale,
                     float* scores) {
  static const bool avx512 = HasAvx512();
  if (avx512) {
    Scores512(q, keys, stride, n_pos, head_size, scale, scores);
  } else {
    ScoresScalar(q, keys, stride, n_pos, head_size, scale, scores);
  }
}

void AttentionMix(const float* weights, const float* values, int64_t stride,
                  int64_t n_pos, int64_t head_size, float* out) {
  static const bool avx512 = HasAvx512();
  if (avx512) {
    Mix512(weights, values, stride, n_pos, head_size, out);
  } else {
    MixScalar(weights, values, stride, n_pos, head_size, out);
  }
}

}  // namespace fm::model
