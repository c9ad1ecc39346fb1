// The K-quant kernels: AVX2 (maddubs on unsigned quants times signed
// activations, then the sub-block scales as int16 multipliers), one
// template per weight type over 1, 2 or 4 input rows that share each
// weight block load. Without AVX2 the types take the dequantizing path.
#include "services/model/kquant_matmul.h"

// GCC 12's AVX headers trip -Wuninitialized on their own placeholders.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "services/model/avx2_reduce.h"
#include "services/model/avx2_stream.h"
#include "services/model/cpu_features.h"
#include "services/model/quant_blocks.h"

namespace fm::model {

void Q8KActivations::Resize(int64_t n_rows, int64_t n_cols) {
  n = n_rows;
  cols = n_cols;
  if (static_cast<int64_t>(qs.size()) < n_rows * n_cols) {
    qs.resize(n_rows * n_cols);
  }
  const int64_t nb = n_cols / kQkK;
  if (static_cast<int64_t>(d.size()) < n_rows * nb) d.resize(n_rows * nb);
  if (static_cast<int64_t>(bsums.size()) < n_rows * n_cols / 16) {
    bsums.resize(n_rows * n_cols / 16);
  }
  if (static_cast<int64_t>(bsums32.size()) < n_rows * n_cols / 32) {
    bsums32.resize(n_rows * n_cols / 32);
  }
  if (with_spread &&
      static_cast<int64_t>(spread.size()) < n_rows * n_cols * 8) {
    spread.resize(n_rows * n_cols * 8);
  }
  if (with_offset_starts &&
      static_cast<int64_t>(offset_starts.size()) < n_rows * n_cols / 16) {
    offset_starts.resize(n_rows * n_cols / 16);
  }
}

namespace {

#define FM_AVX2 __attribute__((target("avx2,fma,f16c")))

// A block scale whose inverse overflows (a block of values all below
// ~3.7e-37) as 0: the block quantizes to zeros instead of to what an
// infinite inverse would make of them.
inline float TinyBlockScale(float scale) {
  return 1.0f / scale <= std::numeric_limits<float>::max() ? scale : 0.0f;
}

// One 256-block of Q8KActivations::QuantizeRow: writes the quants and
// returns the scale. Round to nearest (ties to even); |x * inv| <= 127, so
// the result is in range. A block with a NaN or an infinity is all zeros
// with a NaN scale: its products come out NaN, as an F32 product would,
// instead of silently dropping it.
float QuantizeBlockQ8KScalar(const float* xb, int8_t* qb) {
  float amax = 0.0f;
  bool finite = true;
  for (int j = 0; j < kQkK; ++j) {
    amax = std::fmax(amax, std::fabs(xb[j]));
    finite &= std::isfinite(xb[j]);
  }
  const float scale = TinyBlockScale(amax / 127.0f);
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (int j = 0; j < kQkK; ++j) {
    qb[j] = finite ? static_cast<int8_t>(std::nearbyint(xb[j] * inv)) : 0;
  }
  return finite ? scale : std::numeric_limits<float>::quiet_NaN();
}

// The same, bit for bit, in AVX2 (the scalar one's libm calls cost ~15% of
// a Q4_K_M decode step): max is exact in any order, and round_ps to
// nearest is nearbyint in the default rounding mode.
FM_AVX2 float QuantizeBlockQ8KAvx2(const float* xb, int8_t* qb) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 largest = _mm256_set1_ps(std::numeric_limits<float>::max());
  __m256 amax = _mm256_setzero_ps();
  __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  for (int k = 0; k < kQkK / 8; ++k) {
    const __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + 8 * k));
    amax = _mm256_max_ps(amax, a);
    finite = _mm256_and_ps(finite, _mm256_cmp_ps(a, largest, _CMP_LE_OQ));
  }
  if (_mm256_movemask_ps(finite) != 0xFF) {
    std::memset(qb, 0, kQkK);
    return std::numeric_limits<float>::quiet_NaN();
  }
  __m128 m4 =
      _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float scale = TinyBlockScale(_mm_cvtss_f32(m4) / 127.0f);
  const __m256 inv = _mm256_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int k = 0; k < kQkK / 32; ++k) {
    __m256i q[4];
    for (int v = 0; v < 4; ++v) {
      q[v] = _mm256_cvtps_epi32(_mm256_round_ps(
          _mm256_mul_ps(_mm256_loadu_ps(xb + 32 * k + 8 * v), inv),
          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // packs work per 128-bit lane; the permute puts the 32 bytes in order.
    const __m256i bytes = _mm256_permutevar8x32_epi32(
        _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                           _mm256_packs_epi32(q[2], q[3])),
        order);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qb + 32 * k), bytes);
  }
  return scale;
}

}  // namespace

void Q8KActivations::QuantizeRow(int64_t i, const float* x) {
  static const bool avx2 = Cpu().avx2_fma_f16c;
  const int64_t nb = cols / kQkK;
  int8_t* q = qs.data() + i * cols;
  float* di = d.data() + i * nb;
  int16_t* bs = bsums.data() + i * (cols / 16);
  int16_t* bs32 = bsums32.data() + i * (cols / 32);
  int64_t* starts =
      with_offset_starts ? offset_starts.data() + i * (cols / 16) : nullptr;
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * kQkK;
    int8_t* qb = q + b * kQkK;
    di[b] =
        avx2 ? QuantizeBlockQ8KAvx2(xb, qb) : QuantizeBlockQ8KScalar(xb, qb);
    // Each 16's sum, from the halves the two pair lanes of a VNNI
    // sub-block dot multiply (even: 0-3 and 8-11, odd: 4-7 and 12-15).
    for (int g = 0; g < kQkK / 16; ++g) {
      const int8_t* qg = qb + 16 * g;
      int32_t even = 0, odd = 0;
      for (int j = 0; j < 4; ++j) {
        even += qg[j] + qg[8 + j];
        odd += qg[4 + j] + qg[12 + j];
      }
      bs[b * (kQkK / 16) + g] = static_cast<int16_t>(even + odd);
      if (starts != nullptr) {
        starts[b * (kQkK / 16) + g] = static_cast<int64_t>(
            (static_cast<uint64_t>(static_cast<uint32_t>(-32 * odd)) << 32) |
            static_cast<uint32_t>(-32 * even));
      }
    }
    for (int g = 0; g < kQkK / 32; ++g) {
      bs32[b * (kQkK / 32) + g] = static_cast<int16_t>(
          bs[b * (kQkK / 16) + 2 * g] + bs[b * (kQkK / 16) + 2 * g + 1]);
    }
  }
  if (with_spread) SpreadQuads(q, cols, spread.data() + i * cols * 8);
}

namespace {

// 32 unsigned quants times 32 signed activations, in pairs, times a 16-bit
// multiplier per 16 pairs: 8 int32 partial sums.
FM_AVX2 inline __m256i ScaledDot(__m256i q, __m256i x, __m256i scale16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), scale16);
}

// The 8 scales (bytes 0-7) and 8 minimums (bytes 8-15) of a Q4_K / Q5_K
// block from their 12-byte packing (the values of ScaleMinK4 for j = 0..7),
// on whole 32-bit words in one register: going through memory would stall
// on store forwarding (4-byte stores read back as 8-byte loads).
FM_AVX2 inline __m128i ScalesMins(const uint8_t* packed) {
  // v = [u0, u1, u2, -]: the 16-byte load reads 4 bytes past the packing,
  // still inside the block (the quants follow).
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
  const __m128i low6 = _mm_set1_epi8(0x3f);
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const __m128i low2 = _mm_set1_epi8(0x03);
  // [scales 0-3, mins 0-3, -, -]: the low 6 bits of u0 and u1.
  const __m128i first = _mm_and_si128(v, low6);
  // [scales 4-7, mins 4-7, -, -]: u2's low / high nibbles, with the top
  // two bits of u0 / u1 above them.
  const __m128i u2 = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 2, 2, 2));
  const __m128i nibbles =
      _mm_and_si128(_mm_srlv_epi32(u2, _mm_set_epi32(0, 0, 4, 0)), low4);
  const __m128i tops = _mm_slli_epi32(
      _mm_and_si128(_mm_srli_epi32(v, 6), low2), 4);
  const __m128i second = _mm_or_si128(nibbles, tops);
  // [scales 0-3, scales 4-7, mins 0-3, mins 4-7].
  return _mm_unpacklo_epi32(first, second);
}

// The eight scales as int16 in both 128-bit lanes, for Broadcast16.
FM_AVX2 inline __m256i ScalesVector(__m128i scales_mins) {
  return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins));
}

// Broadcast16(scales, k): scale k (of 8 int16 in each lane) in all lanes,
// one shuffle per group instead of a load and a broadcast.
FM_AVX2 inline __m256i Broadcast16(__m256i scales, int k) {
  return _mm256_shuffle_epi8(
      scales, _mm256_set1_epi16(static_cast<int16_t>(((2 * k + 1) << 8) |
                                                     (2 * k))));
}

// Where row i's quantized inputs start for super-block b.
struct InputRow {
  const int8_t* qs;
  const int16_t* bsums;    // per 16
  const int16_t* bsums32;  // per 32
  const float* d;
};

inline InputRow Input(const Q8KActivations& x, int64_t i) {
  return {x.qs.data() + i * x.cols, x.bsums.data() + i * (x.cols / 16),
          x.bsums32.data() + i * (x.cols / 32),
          x.d.data() + i * (x.cols / kQkK)};
}

// sum_k mins[k] * sums32[k] over a block's eight sub-blocks (the minimums
// in the high 8 bytes of ScalesMins): 4 int32.
FM_AVX2 inline __m128i MinsDot(__m128i scales_mins, const int16_t* sums32) {
  const __m128i m = _mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8));
  return _mm_madd_epi16(
      m, _mm_loadu_si128(reinterpret_cast<const __m128i*>(sums32)));
}

// The fifth bits of Q5_K's group g (weights 64g + l: bit 2g of qh[l];
// 64g + 32 + l: bit 2g + 1), moved to bit 4 of each byte; none for Q4_K.
template <typename Block>
FM_AVX2 inline void FifthBits(const Block& blk, int g, __m256i* lo,
                              __m256i* hi) {
  if constexpr (std::is_same_v<Block, BlockQ5_K>) {
    const __m256i one = _mm256_set1_epi8(1);
    const __m256i qh = Load32(blk.qh);
    *lo = _mm256_or_si256(
        *lo, _mm256_slli_epi16(_mm256_and_si256(
                                   _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)),
                                   one),
                               4));
    *hi = _mm256_or_si256(
        *hi,
        _mm256_slli_epi16(
            _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g + 1)),
                             one),
            4));
  }
}

// Q4_K and Q5_K: value = d * scale_j * q - dmin * min_j over eight
// sub-blocks of 32 (q of 4 bits, or 5 with Q5_K's fifth bits); the
// minimums' part is sum_j min_j * (sum of that sub-block's activations),
// from the activations' 32-sums.
template <typename Block, int NB>
FM_AVX2 void RowQ45K(const Block* wr, const Q8KActivations& x, int64_t nb,
                     int64_t rows, int64_t r, int64_t i0, float* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[NB];
  __m128 acc_min[NB];
  InputRow in[NB];
  for (int j = 0; j < NB; ++j) {
    acc[j] = _mm256_setzero_ps();
    acc_min[j] = _mm_setzero_ps();
    in[j] = Input(x, i0 + j);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = wr[b];
    PrefetchAhead(&blk, sizeof(Block));
    const __m128i sm = ScalesMins(blk.scales);
    const __m256i scales = ScalesVector(sm);
    // d and dmin (adjacent halves) converted together.
    uint32_t d_dmin;
    std::memcpy(&d_dmin, &blk.d, 4);
    const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin)));
    const float dw = _mm_cvtss_f32(dm);
    const float mw = _mm_cvtss_f32(_mm_movehdup_ps(dm));
    for (int j = 0; j < NB; ++j) {
      const int8_t* xq = in[j].qs + b * kQkK;
      __m256i sum = _mm256_setzero_si256();
      for (int g = 0; g < 4; ++g) {
        // 32 bytes: weights 64g..64g+31 (low nibbles), +32..+63 (high).
        const __m256i q = Load32(blk.qs + 32 * g);
        __m256i lo = _mm256_and_si256(q, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        FifthBits(blk, g, &lo, &hi);
        sum = _mm256_add_epi32(
            sum, ScaledDot(lo, Load32(xq + 64 * g),
                           Broadcast16(scales, 2 * g)));
        sum = _mm256_add_epi32(
            sum, ScaledDot(hi, Load32(xq + 64 * g + 32),
                           Broadcast16(scales, 2 * g + 1)));
      }
      const float xd = in[j].d[b];
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd),
                               _mm256_cvtepi32_ps(sum), acc[j]);
      acc_min[j] = _mm_fmadd_ps(
          _mm_set1_ps(mw * xd),
          _mm_cvtepi32_ps(MinsDot(sm, in[j].bsums32 + b * 8)), acc_min[j]);
    }
  }
  for (int j = 0; j < NB; ++j) {
    out[(i0 + j) * rows + r] =
        SumLanes8(acc[j]) - SumLanes4(acc_min[j]);
  }
}

// Q6_K: value = d * scale_k * (q - 32) over sixteen sub-blocks of 16. The
// quants are multiplied unsigned (0..63); the offset is taken back out as
// 32 * sum_k scale_k * (sum of that sub-block's activations).
template <int NB>
FM_AVX2 void RowQ6K(const BlockQ6_K* wr, const Q8KActivations& x, int64_t nb,
                    int64_t rows, int64_t r, int64_t i0, float* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i low2 = _mm256_set1_epi8(0x03);
  __m256 acc[NB];
  InputRow in[NB];
  for (int j = 0; j < NB; ++j) {
    acc[j] = _mm256_setzero_ps();
    in[j] = Input(x, i0 + j);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ6_K& blk = wr[b];
    PrefetchAhead(&blk, sizeof(BlockQ6_K));
    const float dw = _cvtsh_ss(blk.d);
    // The offset's multipliers: the 16 scales as int16.
    const __m256i scales16 = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales)));
    // Each half of 128 weights: four groups of 32 (see RowQ6_K in
    // dequantize.cc), two sub-block scales per group.
    __m256i q[2][4];
    __m256i scale16[2][4];
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk.ql + 64 * h;
      const __m256i ql0 = Load32(ql);
      const __m256i ql1 = Load32(ql + 32);
      const __m256i qh = Load32(blk.qh + 32 * h);
      q[h][0] = _mm256_or_si256(
          _mm256_and_si256(ql0, low4),
          _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4));
      q[h][1] = _mm256_or_si256(
          _mm256_and_si256(ql1, low4),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2),
                            4));
      q[h][2] = _mm256_or_si256(
          _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2),
                            4));
      q[h][3] = _mm256_or_si256(
          _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2),
                            4));
      // This half's eight scales as int16 in both lanes; group k takes
      // scale 2k in its low lane (weights 0-15) and 2k + 1 in its high
      // lane (16-31), by one shuffle each.
      const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(
          _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk.scales + 8 * h))));
      for (int k = 0; k < 4; ++k) {
        const int16_t lo = static_cast<int16_t>(((4 * k + 1) << 8) | (4 * k));
        const int16_t hi =
            static_cast<int16_t>(((4 * k + 3) << 8) | (4 * k + 2));
        scale16[h][k] = _mm256_shuffle_epi8(
            sc, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
      }
    }
    for (int j = 0; j < NB; ++j) {
      const int8_t* xq = in[j].qs + b * kQkK;
      const int16_t* bs = in[j].bsums + b * 16;
      __m256i sum = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < 4; ++k) {
          sum = _mm256_add_epi32(
              sum, ScaledDot(q[h][k], Load32(xq + 128 * h + 32 * k),
                             scale16[h][k]));
        }
      }
      // sum -= 32 * sum_k scale_k * bsum_k, in the same int32 lanes.
      const __m256i offset = _mm256_slli_epi32(
          _mm256_madd_epi16(scales16, _mm256_loadu_si256(
                                          reinterpret_cast<const __m256i*>(bs))),
          5);
      const float xd = in[j].d[b];
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd),
                               _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, offset)),
                               acc[j]);
    }
  }
  for (int j = 0; j < NB; ++j) {
    out[(i0 + j) * rows + r] = SumLanes8(acc[j]);
  }
}

// Rows [row_begin, row_end) of one weight type, inputs four at a time.
template <typename Block, template <int> class Row>
void RunRows(const void* w, const Q8KActivations& x, int64_t rows,
             int64_t row_begin, int64_t row_end, float* out) {
  const int64_t nb = x.cols / kQkK;
  const auto* blocks = static_cast<const Block*>(w);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const Block* wr = blocks + r * nb;
    int64_t i = 0;
    for (; i + 4 <= x.n; i += 4) Row<4>::Run(wr, x, nb, rows, r, i, out);
    for (; i + 2 <= x.n; i += 2) Row<2>::Run(wr, x, nb, rows, r, i, out);
    if (i < x.n) Row<1>::Run(wr, x, nb, rows, r, i, out);
  }
}

template <int NB>
struct Q4K {
  static void Run(const BlockQ4_K* wr, const Q8KActivations& x, int64_t nb,
                  int64_t rows, int64_t r, int64_t i, float* out) {
    RowQ45K<BlockQ4_K, NB>(wr, x, nb, rows, r, i, out);
  }
};
template <int NB>
struct Q5K {
  static void Run(const BlockQ5_K* wr, const Q8KActivations& x, int64_t nb,
                  int64_t rows, int64_t r, int64_t i, float* out) {
    RowQ45K<BlockQ5_K, NB>(wr, x, nb, rows, r, i, out);
  }
};
template <int NB>
struct Q6K {
  static void Run(const BlockQ6_K* wr, const Q8KActivations& x, int64_t nb,
                  int64_t rows, int64_t r, int64_t i, float* out) {
    RowQ6K<NB>(wr, x, nb, rows, r, i, out);
  }
};

}  // namespace

bool HasKQuantKernel(DType dtype) {
  return Cpu().avx2_fma_f16c && (dtype == DType::kQ4_K || dtype == DType::kQ5_K ||
                  dtype == DType::kQ6_K);
}

void MatMulKQuant(DType dtype, const void* w, const Q8KActivations& x,
                  int64_t rows, int64_t row_begin, int64_t row_end,
                  float* out) {
  switch (dtype) {
    case DType::kQ4_K:
      return RunRows<BlockQ4_K, Q4K>(w, x, rows, row_begin, row_end, out);
    case DType::kQ5_K:
      return RunRows<BlockQ5_K, Q5K>(w, x, rows, row_begin, row_end, out);
    case DType::kQ6_K:
      return RunRows<BlockQ6_K, Q6K>(w, x, rows, row_begin, row_end, out);
    default:
      return;  // callers check HasKQuantKernel first
  }
}

}  // namespace fm::model
