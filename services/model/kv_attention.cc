// AVX2 + F16C versions (four positions per pass for the scores, 32 output
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

FM_AVX2 void ScoresAvx2(const float* q, const uint16_t* keys, int64_t stride,
                        int64_t n_pos, int64_t head_size, float scale,
                        float* scores) {
  const int64_t vec = head_size / 8 * 8;
  auto finish = [&](const uint16_t* k, float sum) {
    for (int64_t i = vec; i < head_size; ++i) sum += q[i] * F16ToF32(k[i]);
    return sum * scale;
  };
  int64_t t = 0;
  for (; t + 4 <= n_pos; t += 4) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps(), _mm256_setzero_ps()};
    const uint16_t* k[4];
    for (int j = 0; j < 4; ++j) k[j] = keys + (t + j) * stride;
    for (int64_t i = 0; i < vec; i += 8) {
      const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        acc[j] = _mm256_fmadd_ps(qv, LoadHalf8(k[j] + i), acc[j]);
      }
    }
    for (int j = 0; j < 4; ++j) scores[t + j] = finish(k[j], SumLanes8(acc[j]));
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

FM_AVX2 void MixAvx2(const float* weights, const uint16_t* values,
                     int64_t stride, int64_t n_pos, int64_t head_size,
                     float* out) {
  const int64_t vec = head_size / 8 * 8;
  for (int64_t c = 0; c < vec; c += 32) {
    const int nv = static_cast<int>(std::min<int64_t>(4, (vec - c) / 8));
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t t = 0; t < n_pos; ++t) {
      const __m256 wt = _mm256_set1_ps(weights[t]);
      const uint16_t* v = values + t * stride + c;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
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
