// The Q8_0 quantizers and kernels: portable scalar, AVX2 and AVX-512 VNNI
// versions chosen at run time, so the binary runs anywhere.
#include "services/model/quant.h"

#include "services/model/cpu_features.h"
#include "services/model/interleaved_vnni.h"

// GCC 12's AVX-512 headers trip -Wuninitialized on their own
// _mm512_undefined_* placeholders (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace fm::model {

void QuantizeRowQ8_0(const float* x, BlockQ8_0* out, int64_t n) {
  const int64_t nb = n / kQ8BlockSize;
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * kQ8BlockSize;
    float amax = 0.0f;
    for (int j = 0; j < kQ8BlockSize; ++j) {
      amax = std::fmax(amax, std::fabs(xb[j]));
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = F32ToF16(d);
    for (int j = 0; j < kQ8BlockSize; ++j) {
      out[b].qs[j] = static_cast<int8_t>(std::lround(xb[j] * id));
    }
  }
}

// The kernels MatMulInterleaved picks (interleaved_matmul.cc) read these.
bool SpreadByDefault() { return Cpu().avx2_fma_f16c && !HasInterleavedVnni(); }

bool OffsetStartsByDefault() { return HasInterleavedVnni(); }

void SpreadQuads(const int8_t* q, int64_t n, int8_t* out) {
  for (int64_t k = 0; k < n; k += 4) {
    for (int r = 0; r < 8; ++r) std::memcpy(out + 8 * k + 4 * r, q + k, 4);
  }
}

void Q8Activations::Resize(int64_t n_rows, int64_t n_cols) {
  n = n_rows;
  cols = n_cols;
  const int64_t nb = n_cols / kQ8BlockSize;
  const int64_t pairs = (nb + 1) / 2;
  if (static_cast<int64_t>(qs.size()) < n_rows * n_cols) {
    qs.resize(n_rows * n_cols);
  }
  if (static_cast<int64_t>(d.size()) < n_rows * nb) d.resize(n_rows * nb);
  if (static_cast<int64_t>(d_pairs.size()) < n_rows * pairs * 16) {
    d_pairs.resize(n_rows * pairs * 16);
  }
  if (static_cast<int64_t>(sums.size()) < n_rows * nb) sums.resize(n_rows * nb);
  if (with_spread &&
      static_cast<int64_t>(spread.size()) < n_rows * n_cols * 8) {
    spread.resize(n_rows * n_cols * 8);
  }
}

namespace {

// The largest quant magnitude of either activation format.
constexpr int kMaxQuant = 127;

// A block with a NaN or an infinity: zero quants and a NaN scale, so that
// its products come out NaN, as an F32 product would, instead of finite
// values from whatever the conversion made of the NaN.
float NonFiniteBlock(int8_t* q) {
  std::memset(q, 0, kQ8BlockSize);
  return std::numeric_limits<float>::quiet_NaN();
}

// One block of Q8Activations::QuantizeRow: returns the scale, writes the
// quants. The scale is rounded through fp16 as ggml does, so that the
// kernel computes exactly the products ggml's vec_dot_q8_0_q8_0 would;
// quants are round-half-away-from-zero of x / scale (as lround), clamped
// to [-127, 127]: where the fp16 scale is subnormal it can be smaller than
// amax / 127, and an unclamped quant would reach 128 (which the int8
// kernels' sign and bias tricks assume never happens).
float QuantizeBlockScalar(const float* xb, int8_t* q) {
  float amax = 0.0f;
  bool finite = true;
  for (int j = 0; j < kQ8BlockSize; ++j) {
    amax = std::fmax(amax, std::fabs(xb[j]));
    finite &= std::isfinite(xb[j]);
  }
  if (!finite) return NonFiniteBlock(q);
  const float dq = F16ToF32(F32ToF16(amax / 127.0f));
  const float id = dq != 0.0f ? 1.0f / dq : 0.0f;
  for (int j = 0; j < kQ8BlockSize; ++j) {
    q[j] = static_cast<int8_t>(
        std::clamp<long>(std::lround(xb[j] * id), -kMaxQuant, kMaxQuant));
  }
  return dq;
}

// The same, bit for bit, in AVX-512 (the scalar version's libm calls cost
// ~6% of a Q8_0 decode step).
__attribute__((target("avx512f,avx512dq,avx512bw,f16c"))) float
QuantizeBlockAvx512(const float* xb, int8_t* q) {
  const __m512 v0 = _mm512_loadu_ps(xb);
  const __m512 v1 = _mm512_loadu_ps(xb + 16);
  const __m512 largest = _mm512_set1_ps(std::numeric_limits<float>::max());
  if ((_mm512_cmp_ps_mask(_mm512_abs_ps(v0), largest, _CMP_LE_OQ) &
       _mm512_cmp_ps_mask(_mm512_abs_ps(v1), largest, _CMP_LE_OQ)) != 0xFFFF) {
    return NonFiniteBlock(q);
  }
  const __m512 m = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
  __m256 m8 =
      _mm256_max_ps(_mm512_castps512_ps256(m), _mm512_extractf32x8_ps(m, 1));
  __m128 m4 =
      _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float amax = _mm_cvtss_f32(m4);
  const float dq = F16ToF32(F32ToF16(amax / 127.0f));
  const __m512 id = _mm512_set1_ps(dq != 0.0f ? 1.0f / dq : 0.0f);
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int h = 0; h < 2; ++h) {
    const __m512 v = _mm512_mul_ps(h == 0 ? v0 : v1, id);
    // Round half away from zero: trunc, then one step away from zero when
    // the (exact) fraction is at least one half.
    const __m512 t =
        _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)),
                                            half, _CMP_GE_OQ);
    const __m512 step = _mm512_or_ps(
        one, _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));  // +-1, v's sign
    const __m512 r = _mm512_min_ps(
        _mm512_max_ps(_mm512_mask_add_ps(t, up, t, step), _mm512_set1_ps(-127)),
        _mm512_set1_ps(127));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * h),
                     _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(r)));
  }
  return dq;
}

// And in AVX2, for the CPUs without AVX-512.
__attribute__((target("avx2,fma,f16c"))) float QuantizeBlockAvx2(
    const float* xb, int8_t* q) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  const __m256 largest = _mm256_set1_ps(std::numeric_limits<float>::max());
  __m256 m = _mm256_setzero_ps();
  __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(xb + 8 * k);
    const __m256 a = _mm256_andnot_ps(sign, v[k]);
    m = _mm256_max_ps(m, a);
    finite = _mm256_and_ps(finite, _mm256_cmp_ps(a, largest, _CMP_LE_OQ));
  }
  if (_mm256_movemask_ps(finite) != 0xFF) return NonFiniteBlock(q);
  __m128 m4 =
      _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float amax = _mm_cvtss_f32(m4);
  const float dq = F16ToF32(F32ToF16(amax / 127.0f));
  const __m256 id = _mm256_set1_ps(dq != 0.0f ? 1.0f / dq : 0.0f);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256i r[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 s = _mm256_mul_ps(v[k], id);
    // Round half away from zero, as the AVX-512 version.
    const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(s, t)),
                                    half, _CMP_GE_OQ);
    const __m256 step =
        _mm256_and_ps(up, _mm256_or_ps(one, _mm256_and_ps(s, sign)));
    r[k] = _mm256_cvttps_epi32(_mm256_min_ps(
        _mm256_max_ps(_mm256_add_ps(t, step), _mm256_set1_ps(-127)),
        _mm256_set1_ps(127)));
  }
  const __m256i bytes = _mm256_permutevar8x32_epi32(
      _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]),
                         _mm256_packs_epi32(r[2], r[3])),
      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), bytes);
  return dq;
}

bool HasAvx512Quantize() { return Cpu().avx512; }

}  // namespace

void Q8Activations::QuantizeRow(int64_t i, const float* x) {
  static const bool avx512 = HasAvx512Quantize();
  static const bool avx2 = Cpu().avx2_fma_f16c;
  const int64_t nb = cols / kQ8BlockSize;
  const int64_t pairs = (nb + 1) / 2;
  int8_t* q = qs.data() + i * cols;
  float* di = d.data() + i * nb;
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * kQ8BlockSize;
    int8_t* qb = q + b * kQ8BlockSize;
    di[b] = avx512 ? QuantizeBlockAvx512(xb, qb)
            : avx2 ? QuantizeBlockAvx2(xb, qb)
                   : QuantizeBlockScalar(xb, qb);
    int32_t sum = 0;
    for (int j = 0; j < kQ8BlockSize; ++j) sum += qb[j];
    sums[i * nb + b] = static_cast<int16_t>(sum);  // |sum| <= 32 * 127
  }
  if (with_spread) SpreadQuads(q, cols, spread.data() + i * cols * 8);
  float* dp = d_pairs.data() + i * pairs * 16;
  for (int64_t p = 0; p < pairs; ++p) {
    const float d0 = di[2 * p];
    const float d1 = 2 * p + 1 < nb ? di[2 * p + 1] : 0.0f;
    for (int l = 0; l < 8; ++l) {
      dp[p * 16 + l] = d0;
      dp[p * 16 + 8 + l] = d1;
    }
  }
}

namespace {

// Software prefetch distance of the Q8_0 kernels, in weight rows (a row of
// 768 weights is 816 bytes: ~13 KB ahead, as the F32 kernel's next tile).
constexpr int64_t kQ8PrefetchRows = 16;

void MatMulQ8Scalar(const BlockQ8_0* w, const Q8Activations& x, int64_t rows,
                    int64_t row_begin, int64_t row_end, float* out) {
  const int64_t nb = x.cols / kQ8BlockSize;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const BlockQ8_0* wr = w + r * nb;
    for (int64_t i = 0; i < x.n; ++i) {
      const int8_t* xq = x.qs.data() + i * x.cols;
      const float* xd = x.d.data() + i * nb;
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < kQ8BlockSize; ++j) {
          isum += static_cast<int32_t>(wr[b].qs[j]) * xq[b * kQ8BlockSize + j];
        }
        sum += F16ToF32(wr[b].d) * xd[b] * static_cast<float>(isum);
      }
      out[i * rows + r] = sum;
    }
  }
}

// 32 int8 x 32 int8 -> 8 int32 partial sums (the sign trick: maddubs needs
// one unsigned operand, so |w| times x * sign(w)).
__attribute__((target("avx2,fma,f16c"))) inline __m256i DotBlockAvx2(
    __m256i aw, __m256i qw, __m256i qx) {
  const __m256i sy = _mm256_sign_epi8(qx, qw);
  const __m256i dot16 = _mm256_maddubs_epi16(aw, sy);
  return _mm256_madd_epi16(dot16, _mm256_set1_epi16(1));
}

__attribute__((target("avx2,fma,f16c"))) inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 sh = _mm_movehdup_ps(lo);
  __m128 sums = _mm_add_ps(lo, sh);
  sh = _mm_movehl_ps(sh, sums);
  sums = _mm_add_ss(sums, sh);
  return _mm_cvtss_f32(sums);
}

// A block's 32 quants as signed int8, in weight order: Q8_0's as stored;
// Q4_0's nibbles recentred to -8..7 (value = d * (nibble - 8)); Q5_0's
// below, with its fifth bits, recentred to -16..15.
// A block's 32 nibbles in weight order (low: weights 0-15, high: 16-31).
__attribute__((target("avx2,fma,f16c"))) inline __m256i Nibbles32(
    const uint8_t* qs) {
  const __m128i low4 = _mm_set1_epi8(0x0F);
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low4),
                          _mm_and_si128(raw, low4));
}

__attribute__((target("avx2,fma,f16c"))) inline __m256i SignedQuants(
    const BlockQ8_0& b) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
}
__attribute__((target("avx2,fma,f16c"))) inline __m256i SignedQuants(
    const BlockQ4_0& b) {
  return _mm256_sub_epi8(Nibbles32(b.qs), _mm256_set1_epi8(8));
}

// The fifth bits of a Q5_0 / Q5_1 block (bit j of qh for weight j) as 0x10
// in byte j: each byte picks its qh byte, tests its bit, keeps 0x10.
__attribute__((target("avx2,fma,f16c"))) inline __m256i FifthBits32(
    const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int32_t>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                        0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  return _mm256_and_si256(
      _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit),
      _mm256_set1_epi8(0x10));
}

__attribute__((target("avx2,fma,f16c"))) inline __m256i SignedQuants(
    const BlockQ5_0& b) {
  return _mm256_sub_epi8(_mm256_or_si256(Nibbles32(b.qs), FifthBits32(b.qh)),
                         _mm256_set1_epi8(16));
}

// The types with a minimum (value = d * q + m): their quants unsigned.
template <typename Block>
inline constexpr bool kHasMin =
    std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>;

__attribute__((target("avx2,fma,f16c"))) inline __m256i UnsignedQuants(
    const BlockQ4_1& b) {
  return Nibbles32(b.qs);
}
__attribute__((target("avx2,fma,f16c"))) inline __m256i UnsignedQuants(
    const BlockQ5_1& b) {
  return _mm256_or_si256(Nibbles32(b.qs), FifthBits32(b.qh));
}

// NB input rows against one weight row of 32-weight blocks: the signed
// types (Q8_0, Q4_0, Q5_0) by the sign trick; those with a minimum (Q4_1,
// Q5_1) as unsigned quants times the inputs plus m * (sum of the inputs).
template <typename Block, int NB>
__attribute__((target("avx2,fma,f16c"))) inline void RowAvx2(
    const Block* wr, const Q8Activations& x, int64_t nb, int64_t rows,
    int64_t r, int64_t i0, const Block* pf, float* out) {
  __m256 acc[NB];
  float acc_min[NB];
  const int8_t* xq[NB];
  const float* xd[NB];
  const int16_t* xs[NB];
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    acc[j] = _mm256_setzero_ps();
    acc_min[j] = 0.0f;
    xq[j] = x.qs.data() + (i0 + j) * x.cols;
    xd[j] = x.d.data() + (i0 + j) * nb;
    xs[j] = x.sums.data() + (i0 + j) * nb;
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    _mm_prefetch(reinterpret_cast<const char*>(pf + b), _MM_HINT_T0);
    const float dw = _cvtsh_ss(wr[b].d);
    if constexpr (kHasMin<Block>) {
      const __m256i qw = UnsignedQuants(wr[b]);
      const float mw = _cvtsh_ss(wr[b].m);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) {
        const __m256i qx = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(xq[j] + b * kQ8BlockSize));
        const __m256i dot =
            _mm256_madd_epi16(_mm256_maddubs_epi16(qw, qx), ones);
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd[j][b]),
                                 _mm256_cvtepi32_ps(dot), acc[j]);
        acc_min[j] += mw * xd[j][b] * static_cast<float>(xs[j][b]);
      }
    } else {
      const __m256i qw = SignedQuants(wr[b]);
      const __m256i aw = _mm256_sign_epi8(qw, qw);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) {
        const __m256i qx = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(xq[j] + b * kQ8BlockSize));
        acc[j] = _mm256_fmadd_ps(
            _mm256_set1_ps(dw * xd[j][b]),
            _mm256_cvtepi32_ps(DotBlockAvx2(aw, qw, qx)), acc[j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    out[(i0 + j) * rows + r] = HorizontalSum(acc[j]) + acc_min[j];
  }
}

template <typename Block>
__attribute__((target("avx2,fma,f16c"))) void MatMulBlocks32Avx2(
    const Block* w, const Q8Activations& x, int64_t rows, int64_t row_begin,
    int64_t row_end, float* out) {
  const int64_t nb = x.cols / kQ8BlockSize;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const Block* wr = w + r * nb;
    const Block* pf =
        r + kQ8PrefetchRows < row_end ? wr + kQ8PrefetchRows * nb : wr;
    int64_t i = 0;
    // Four input rows per pass share each weight block load.
    for (; i + 4 <= x.n; i += 4) RowAvx2<Block, 4>(wr, x, nb, rows, r, i, pf, out);
    for (; i + 2 <= x.n; i += 2) RowAvx2<Block, 2>(wr, x, nb, rows, r, i, pf, out);
    if (i < x.n) RowAvx2<Block, 1>(wr, x, nb, rows, r, i, pf, out);
  }
}

// AVX-512 VNNI: two blocks (64 quants) per instruction. vpdpbusd needs an
// unsigned operand too, so it multiplies |w| by x with w's sign applied.
__attribute__((
    target("avx512f,avx512bw,avx512dq,avx512vnni,f16c"))) inline float
Reduce512(__m512 v) {
  const __m256 s8 =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 s4 =
      _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

// `pf`: a weight row further ahead, prefetched while this one is computed.
// Lanes 0-7 <- v[0], lanes 8-15 <- v[1].
__attribute__((
    target("avx512f,avx512bw,avx512dq,avx512vnni,f16c"))) inline __m512
SpreadPair(__m512i spread, __m128 v) {
  return _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(v));
}

template <int NB>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vnni,f16c"))) inline void
RowAvx512(const BlockQ8_0* wr, const Q8Activations& x, int64_t nb, int64_t rows,
          int64_t r, int64_t i0, const BlockQ8_0* pf, float* out) {
  const int64_t pairs = (nb + 1) / 2;
  __m512 acc[NB];
  const int8_t* xq[NB];
  const float* xd[NB];
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    acc[j] = _mm512_setzero_ps();
    xq[j] = x.qs.data() + (i0 + j) * x.cols;
    xd[j] = x.d_pairs.data() + (i0 + j) * pairs * 16;
  }
  const __m512i zero = _mm512_setzero_si512();
  const __m512i spread =
      _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  for (int64_t p = 0; p < pairs; ++p) {
    const int64_t b = 2 * p;
    const bool full = b + 1 < nb;  // else the last, odd block alone
    _mm_prefetch(reinterpret_cast<const char*>(pf + b), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(pf + b) + 64, _MM_HINT_T0);
    const __m256i w0 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[b].qs));
    const __m256i w1 =
        full
            ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[b + 1].qs))
            : _mm256_setzero_si256();
    const __m512i qw = _mm512_inserti64x4(_mm512_castsi256_si512(w0), w1, 1);
    const __m512i aw = _mm512_abs_epi8(qw);
    const __mmask64 neg = _mm512_movepi8_mask(qw);
    // Both fp16 scales converted at once, then spread to 8 lanes each.
    const __m128i h =
        _mm_insert_epi16(_mm_cvtsi32_si128(wr[b].d), full ? wr[b + 1].d : 0, 1);
    const __m512 dw = SpreadPair(spread, _mm_cvtph_ps(h));
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) {
      const int8_t* xp = xq[j] + b * kQ8BlockSize;
      const __m512i qx = full ? _mm512_loadu_si512(xp)
                              : _mm512_zextsi256_si512(_mm256_loadu_si256(
                                    reinterpret_cast<const __m256i*>(xp)));
      const __m512i sx = _mm512_mask_sub_epi8(qx, neg, zero, qx);
      const __m512i dot = _mm512_dpbusd_epi32(zero, aw, sx);
      const __m512 scale = _mm512_mul_ps(dw, _mm512_loadu_ps(xd[j] + p * 16));
      acc[j] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc[j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) out[(i0 + j) * rows + r] = Reduce512(acc[j]);
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vnni,f16c"))) void
MatMulQ8Avx512(const BlockQ8_0* w, const Q8Activations& x, int64_t rows,
               int64_t row_begin, int64_t row_end, float* out) {
  const int64_t nb = x.cols / kQ8BlockSize;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const BlockQ8_0* wr = w + r * nb;
    const BlockQ8_0* pf =
        r + kQ8PrefetchRows < row_end ? wr + kQ8PrefetchRows * nb : wr;
    int64_t i = 0;
    for (; i + 8 <= x.n; i += 8) RowAvx512<8>(wr, x, nb, rows, r, i, pf, out);
    for (; i + 4 <= x.n; i += 4) RowAvx512<4>(wr, x, nb, rows, r, i, pf, out);
    for (; i + 2 <= x.n; i += 2) RowAvx512<2>(wr, x, nb, rows, r, i, pf, out);
    if (i < x.n) RowAvx512<1>(wr, x, nb, rows, r, i, pf, out);
  }
}

enum class Q8Kernel { kScalar, kAvx2, kAvx512 };

Q8Kernel DetectKernel() {
  if (Cpu().avx512_vnni) return Q8Kernel::kAvx512;
  if (Cpu().avx2_fma_f16c) return Q8Kernel::kAvx2;
  return Q8Kernel::kScalar;
}

Q8Kernel ActiveKernel() {
  static const Q8Kernel kernel = DetectKernel();
  return kernel;
}

}  // namespace

const char* Q8KernelName() {
  switch (ActiveKernel()) {
    case Q8Kernel::kAvx512:
      return "avx512vnni";
    case Q8Kernel::kAvx2:
      return "avx2";
    case Q8Kernel::kScalar:
      break;
  }
  return "scalar";
}

bool HasBlocks32Kernel(DType dtype) {
  if (dtype == DType::kQ8_0) return true;  // a scalar kernel too
  return ActiveKernel() != Q8Kernel::kScalar &&
         (dtype == DType::kQ4_0 || dtype == DType::kQ4_1 ||
          dtype == DType::kQ5_0 || dtype == DType::kQ5_1);
}

void MatMulBlocks32(DType dtype, const void* w, const Q8Activations& x,
                    int64_t rows, int64_t row_begin, int64_t row_end,
                    float* out) {
  switch (dtype) {
    case DType::kQ8_0:
      return MatMulQ8_0(static_cast<const BlockQ8_0*>(w), x, rows, row_begin,
                        row_end, out);
    case DType::kQ4_0:
      return MatMulBlocks32Avx2(static_cast<const BlockQ4_0*>(w), x, rows,
                                row_begin, row_end, out);
    case DType::kQ4_1:
      return MatMulBlocks32Avx2(static_cast<const BlockQ4_1*>(w), x, rows,
                                row_begin, row_end, out);
    case DType::kQ5_0:
      return MatMulBlocks32Avx2(static_cast<const BlockQ5_0*>(w), x, rows,
                                row_begin, row_end, out);
    case DType::kQ5_1:
      return MatMulBlocks32Avx2(static_cast<const BlockQ5_1*>(w), x, rows,
                                row_begin, row_end, out);
    default:
      return;  // callers check HasBlocks32Kernel first
  }
}

void MatMulQ8_0(const BlockQ8_0* w, const Q8Activations& x, int64_t rows,
                int64_t row_begin, int64_t row_end, float* out) {
  switch (ActiveKernel()) {
    case Q8Kernel::kAvx512:
      MatMulQ8Avx512(w, x, rows, row_begin, row_end, out);
      return;
    case Q8Kernel::kAvx2:
      MatMulBlocks32Avx2(w, x, rows, row_begin, row_end, out);
      return;
    case Q8Kernel::kScalar:
      MatMulQ8Scalar(w, x, rows, row_begin, row_end, out);
      return;
  }
}

}  // namespace fm::model
