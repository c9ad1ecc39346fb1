// AVX2 + F16C versions (eight positions per pass for the scores, 64 output
// values in registers for the mix), scalar otherwise.
#include "services/model/kv_attention.h"

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "common/half.h"
#include "services/model/avx2_reduce.h"
#include "services/model/cpu_features.h"

namespace fm::model {
namespace {

#define FM_AVX2 __attribute__((target("avx2,fma,f16c")))

FM_AVX2 inline __m256 LoadHalf8(const uint16_t* p) {
  return _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The lane sums of a[0..7] as SumLanes8 adds each (so a position's score
// does not depend on which pass computed it), 8 at once: the two 128-bit
// halves first, then a 4x4 transpose per half so that the remaining adds
// are vertical.
FM_AVX2 inline __m256 SumLanes8x8(const __m256 (&a)[8]) {
  __m256 s[4];  // half 0: a[j]'s (l0 + l4, l1 + l5, ...), half 1: a[j + 4]'s
  for (int j = 0; j < 4; ++j) {
    s[j] = _mm256_add_ps(_mm256_permute2f128_ps(a[j], a[j + 4], 0x20),
                         _mm256_permute2f128_ps(a[j], a[j + 4], 0x31));
  }
  const __m256 t0 = _mm256_unpacklo_ps(s[0], s[1]);
  const __m256 t1 = _mm256_unpackhi_ps(s[0], s[1]);
  const __m256 t2 = _mm256_unpacklo_ps(s[2], s[3]);
  const __m256 t3 = _mm256_unpackhi_ps(s[2], s[3]);
  // Row k of the transpose: lane k of every s[j] (lanes j, j + 4).
  const __m256 r0 = _mm256_shuffle_ps(t0, t2, 0x44);
  const __m256 r1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 r2 = _mm256_shuffle_ps(t1, t3, 0x44);
  const __m256 r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  return _mm256_add_ps(_mm256_add_ps(r0, r2), _mm256_add_ps(r1, r3));
}

// Eight positions per pass: eight independent FMA chains keep both FMA
// units busy (four left them half idle on their latency).
FM_AVX2 void ScoresAvx2(const float* q, const uint16_t* keys, int64_t stride,
                        int64_t n_pos, int64_t head_size, float scale,
                        float* scores) {
  const int64_t vec = head_size / 8 * 8;
  auto finish = [&](const uint16_t* k, float sum) {
    for (int64_t i = vec; i < head_size; ++i) sum += q[i] * F16ToF32(k[i]);
    return sum * scale;
  };
  int64_t t = 0;
  if (vec == head_size) {  // no tail per position: sums in one register
    const __m256 scale8 = _mm256_set1_ps(scale);
    for (; t + 8 <= n_pos; t += 8) {
      __m256 acc[8];
      const uint16_t* k[8];
      for (int j = 0; j < 8; ++j) {
        acc[j] = _mm256_setzero_ps();
        k[j] = keys + (t + j) * stride;
      }
      for (int64_t i = 0; i < vec; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          acc[j] = _mm256_fmadd_ps(qv, LoadHalf8(k[j] + i), acc[j]);
        }
      }
      _mm256_storeu_ps(scores + t, _mm256_mul_ps(SumLanes8x8(acc), scale8));
    }
  }
  for (; t < n_pos; ++t) {
    const uint16_t* k = keys + t * stride;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < vec; i += 8) {
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadHalf8(k + i), acc);
    }
    scores[t] = finish(k, SumLanes8(acc));
  }
}

// 64 output values (8 registers, 8 independent FMA chains) per pass over
// the positions.
FM_AVX2 void MixAvx2(const float* weights, const uint16_t* values,
                     int64_t stride, int64_t n_pos, int64_t head_size,
                     float* out) {
  const int64_t vec = head_size / 8 * 8;
  for (int64_t c = 0; c < vec; c += 64) {
    const int nv = static_cast<int>(std::min<int64_t>(8, (vec - c) / 8));
    __m256 acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t t = 0; t < n_pos; ++t) {
      const __m256 wt = _mm256_set1_ps(weights[t]);
      const uint16_t* v = values + t * stride + c;
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        if (j < nv) acc[j] = _mm256_fmadd_ps(wt, LoadHalf8(v + 8 * j), acc[j]);
      }
    }
    for (int j = 0; j < nv; ++j) _mm256_storeu_ps(out + c + 8 * j, acc[j]);
  }
  for (int64_t i = vec; i < head_size; ++i) {
    float sum = 0.0f;
    for (int64_t t = 0; t < n_pos; ++t) {
      sum += weights[t] * F16ToF32(values[t * stride + i]);
    }
    out[i] = sum;
  }
}

FM_AVX2 void StoreAvx2(const float* in, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i),
                                     _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = F32ToF16(in[i]);
}

}  // namespace

void AttentionScoresF16(const float* q, const uint16_t* keys, int64_t stride,
                        int64_t n_pos, int64_t head_size, float scale,
                        float* scores) {
  if (Cpu().avx2_fma_f16c) {
    return ScoresAvx2(q, keys, stride, n_pos, head_size, scale, scores);
  }
  for (int64_t t = 0; t < n_pos; ++t) {
    const uint16_t* k = keys + t * stride;
    float sum = 0.0f;
    for (int64_t i = 0; i < head_size; ++i) sum += q[i] * F16ToF32(k[i]);
    scores[t] = sum * scale;
  }
}

void AttentionMixF16(const float* weights, const uint16_t* values,
                     int64_t stride, int64_t n_pos, int64_t head_size,
                     float* out) {
  if (Cpu().avx2_fma_f16c) {
    return MixAvx2(weights, values, stride, n_pos, head_size, out);
  }
  std::fill(out, out + head_size, 0.0f);
  for (int64_t t = 0; t < n_pos; ++t) {
    const uint16_t* v = values + t * stride;
    for (int64_t i = 0; i < head_size; ++i) out[i] += weights[t] * F16ToF32(v[i]);
  }
}

void StoreF16(const float* in, uint16_t* out, int64_t n) {
  if (Cpu().avx2_fma_f16c) return StoreAvx2(in, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = F32ToF16(in[i]);
}

}  // namespace fm::model
