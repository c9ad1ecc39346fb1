// The AVX2 kernels over interleaved rows (interleaved_layout.h), and the
// choice between them and the AVX-512 VNNI ones.
#include "services/model/interleaved_matmul.h"

// GCC 12's AVX headers trip -Wuninitialized on their own placeholders.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "services/model/avx2_stream.h"
#include "services/model/cpu_features.h"
#include "services/model/interleaved_groups.h"
#include "services/model/interleaved_vnni.h"
#include "services/model/quant_blocks.h"

namespace fm::model {
namespace {

#define FM_AVX2 __attribute__((target("avx2,fma,f16c")))

// Row i's SpreadQuads copy (Q8Activations or Q8KActivations).
template <typename Inputs>
inline const int8_t* SpreadRow(const Inputs& x, int64_t i) {
  return x.spread.data() + i * x.cols * 8;
}

// Where NB inputs' rows start, for the 32-weight block types.
template <int NB>
struct Inputs32 {
  const int8_t* spread[NB];  // SpreadQuads rows
  const float* d[NB];        // per block
  const int16_t* sums[NB];   // per block
};

template <int NB>
Inputs32<NB> Rows32(const Q8Activations& x, int64_t nb, int64_t i0) {
  Inputs32<NB> in;
  for (int n = 0; n < NB; ++n) {
    in.spread[n] = SpreadRow(x, i0 + n);
    in.d[n] = x.d.data() + (i0 + n) * nb;
    in.sums[n] = x.sums.data() + (i0 + n) * nb;
  }
  return in;
}

// Q4_K's and Q5_K's minimums' dot for input i, super-block b: per row
// lane r, sum_j mins[r][j] * (sum of sub-block j's activations).
__attribute__((target("avx2"))) inline __m256i MinsDot(
    const uint8_t (&mins)[4][kInterleave][2], const Q8KActivations& x,
    int64_t i, int64_t b) {
  const int16_t* sums32 = x.bsums32.data() + i * (x.cols / 32) + 8 * b;
  __m256i m = _mm256_setzero_si256();
  for (int p = 0; p < 4; ++p) {
    int32_t pair;
    std::memcpy(&pair, sums32 + 2 * p, 4);
    m = _mm256_add_epi32(
        m, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(
                                 reinterpret_cast<const __m128i*>(mins[p]))),
                             _mm256_set1_epi32(pair)));
  }
  return m;
}

// Activations pos..pos+3 (int8) in every 32-bit lane, one vector's worth
// for all 8 rows, from the inputs' spread copy (SpreadQuads): a plain load
// that maddubs takes as its memory operand, where a broadcast would cost
// an instruction of its own per maddubs.
FM_AVX2 inline __m256i Activations4(const int8_t* spread_row, int64_t pos) {
  return Load32(spread_row + 8 * pos);
}

// Row r's int16 value in int16 lanes 2r and 2r + 1 (madd's pairs), from 8
// unsigned bytes (one per row).
FM_AVX2 inline __m256i PairLanes(const uint8_t* bytes) {
  int64_t v;
  std::memcpy(&v, bytes, 8);
  const __m256i pattern = _mm256_setr_epi8(
      0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1,  //
      4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1);
  return _mm256_shuffle_epi8(_mm256_set1_epi64x(v), pattern);
}

// The 8 rows' float results of one group for NB inputs.
template <int NB>
struct GroupSums {
  __m256 v[NB];
};

// Bit From of each byte of v moved to bit To, the other bits cleared:
// 16-bit shifts stay exact per byte once masked to one bit.
template <int From, int To>
FM_AVX2 inline __m256i BitTo(__m256i v) {
  const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << To));
  if constexpr (To >= From) {
    return _mm256_and_si256(_mm256_slli_epi16(v, To - From), bit);
  } else {
    return _mm256_and_si256(_mm256_srli_epi16(v, From - To), bit);
  }
}

// The low 4 bits with bit C of qh as the fifth (bit 4).
template <int C>
FM_AVX2 inline __m256i WithFifthBit(__m256i low4, __m256i qh) {
  return _mm256_or_si256(low4, BitTo<C, 4>(qh));
}

// One t step of GroupQ45K: vectors 2t (lo) and 2t + 1 (hi) of sub-block
// j, with Q5_K's fifth bits; a product of 5-bit quants can reach 2 * 31 *
// 127 = 7874 per int16 lane, so Q5_K keeps two partial sums of 4 (31496)
// where Q4_K adds all 8 (30480).
template <typename Block, int NB, int T>
FM_AVX2 inline void SubBlockStep(const Block& blk, int j, int64_t base,
                                 const int8_t* const xs[NB], __m256i qh,
                                 __m256i p16[2][NB]) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i q = Load32(blk.qs[j][T]);
  __m256i lo = _mm256_and_si256(q, low4);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
  constexpr bool kFive = std::is_same_v<Block, BlockQ5_Kx8>;
  if constexpr (kFive) {
    lo = WithFifthBit<2 * T>(lo, qh);
    hi = WithFifthBit<2 * T + 1>(hi, qh);
  }
  constexpr int kPart = kFive ? T / 2 : 0;
  constexpr bool kFirst = kFive ? T % 2 == 0 : T == 0;
  for (int n = 0; n < NB; ++n) {
    const int64_t pos = base + 32 * j + 8 * T;
    const __m256i s = _mm256_add_epi16(
        _mm256_maddubs_epi16(lo, Activations4(xs[n], pos)),
        _mm256_maddubs_epi16(hi, Activations4(xs[n], pos + 4)));
    p16[kPart][n] = kFirst ? s : _mm256_add_epi16(p16[kPart][n], s);
  }
}

// Q4_K and Q5_K: per sub-block j, 8 maddubs (quants times 4 activations
// per row lane) add up in int16 (see SubBlockStep), then one madd by the
// rows' scales; the minimums' part is sum_j min[r][j] * (sum of sub-block
// j's activations).
template <typename Block, int NB>
FM_AVX2 GroupSums<NB> GroupQ45K(const Block* blocks, int64_t nb,
                                const Q8KActivations& x, int64_t i0) {
  GroupSums<NB> acc;
  const int8_t* xs[NB];
  for (int n = 0; n < NB; ++n) {
    acc.v[n] = _mm256_setzero_ps();
    xs[n] = SpreadRow(x, i0 + n);
  }
  constexpr bool kFive = std::is_same_v<Block, BlockQ5_Kx8>;
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = blocks[b];
    __m256i sumi[NB];
    for (int n = 0; n < NB; ++n) sumi[n] = _mm256_setzero_si256();
    for (int j = 0; j < 8; ++j) {
      __m256i p16[2][NB];
      __m256i qh = _mm256_setzero_si256();
      if constexpr (kFive) {
        PrefetchAhead(blk.qh[j], sizeof(blk.qh[j]));
        qh = Load32(blk.qh[j]);
      }
      PrefetchAhead(blk.qs[j], sizeof(blk.qs[j]));
      SubBlockStep<Block, NB, 0>(blk, j, b * kQkK, xs, qh, p16);
      SubBlockStep<Block, NB, 1>(blk, j, b * kQkK, xs, qh, p16);
      SubBlockStep<Block, NB, 2>(blk, j, b * kQkK, xs, qh, p16);
      SubBlockStep<Block, NB, 3>(blk, j, b * kQkK, xs, qh, p16);
      const __m256i sc = PairLanes(blk.scales[j]);
      for (int n = 0; n < NB; ++n) {
        __m256i dot = _mm256_madd_epi16(p16[0][n], sc);
        if constexpr (kFive) {
          dot = _mm256_add_epi32(dot, _mm256_madd_epi16(p16[1][n], sc));
        }
        sumi[n] = _mm256_add_epi32(sumi[n], dot);
      }
    }
    const __m256 d = RowHalves(blk.d);
    const __m256 dmin = RowHalves(blk.dmin);
    for (int n = 0; n < NB; ++n) {
      const __m256i m = MinsDot(blk.mins, x, i0 + n, b);
      const __m256 xd = _mm256_set1_ps(x.d[(i0 + n) * (x.cols / kQkK) + b]);
      acc.v[n] = _mm256_fmadd_ps(_mm256_mul_ps(d, xd),
                                 _mm256_cvtepi32_ps(sumi[n]), acc.v[n]);
      acc.v[n] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, xd),
                                  _mm256_cvtepi32_ps(m), acc.v[n]);
    }
  }
  return acc;
}

// The four vectors (weights 16s..16s+15 of the 8 rows) of sub-block s as
// unsigned quants, for the types with 16-weight sub-blocks.
FM_AVX2 inline void SubBlockVectors(const BlockQ6_Kx8& blk, int s,
                                    __m256i v[4]) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  PrefetchAhead(&blk.q[s], sizeof(blk.q[s]));
  const __m256i qh = Load32(blk.q[s].qh);
  const __m256i l0 = Load32(blk.q[s].ql[0]);
  const __m256i l1 = Load32(blk.q[s].ql[1]);
  // 6 bits: the low 4 from ql's nibbles, the top 2 from qh's bit pairs
  // (bits 2c, 2c + 1 shifted to 4, 5; 16-bit shifts are exact per byte
  // once masked).
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  v[0] = _mm256_or_si256(_mm256_and_si256(l0, low4),
                         _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
  v[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                         _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
  v[2] =
      _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(qh, bits45));
  v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
}

template <int H>
FM_AVX2 inline void Q3Vectors(__m256i low2, __m256i qh, __m256i v[4]) {
  const __m256i three = _mm256_set1_epi8(3);
  v[0] = _mm256_or_si256(_mm256_and_si256(low2, three), BitTo<4 * H, 2>(qh));
  v[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low2, 2), three),
                         BitTo<4 * H + 1, 2>(qh));
  v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low2, 4), three),
                         BitTo<4 * H + 2, 2>(qh));
  v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low2, 6), three),
                         BitTo<4 * H + 3, 2>(qh));
}

FM_AVX2 inline void SubBlockVectors(const BlockQ3_Kx8& blk, int s,
                                    __m256i v[4]) {
  const auto& pair = blk.q[s / 2];
  if (s % 2 == 0) PrefetchAhead(&pair, sizeof(pair));
  const __m256i qh = Load32(pair.qh);
  const __m256i low2 = Load32(pair.ql[s % 2]);
  if (s % 2 == 0) {
    Q3Vectors<0>(low2, qh, v);
  } else {
    Q3Vectors<1>(low2, qh, v);
  }
}

FM_AVX2 inline void SubBlockVectors(const BlockQ2_Kx8& blk, int s,
                                    __m256i v[4]) {
  const __m256i three = _mm256_set1_epi8(3);
  PrefetchAhead(blk.qs[s], sizeof(blk.qs[s]));
  const __m256i q = Load32(blk.qs[s]);
  v[0] = _mm256_and_si256(q, three);
  v[1] = _mm256_and_si256(_mm256_srli_epi16(q, 2), three);
  v[2] = _mm256_and_si256(_mm256_srli_epi16(q, 4), three);
  v[3] = _mm256_and_si256(_mm256_srli_epi16(q, 6), three);
}

// Sub-blocks 2p and 2p + 1's scales of the 8 rows as int16 in the pair
// layout [row][s % 2] (Q6_K, Q3_K: signed bytes).
template <typename Block>
FM_AVX2 inline __m256i PairScales(const Block& blk, int p) {
  return _mm256_cvtepi8_epi16(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales[p])));
}
FM_AVX2 inline __m256i PairScales(const BlockQ2_Kx8& blk, int p) {
  return _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128(
                              reinterpret_cast<const __m128i*>(blk.scales[p]))),
                          _mm256_set1_epi16(0x0F));
}
// Q2_K's minimums, the same way (the high nibbles).
FM_AVX2 inline __m256i PairMins(const BlockQ2_Kx8& blk, int p) {
  return _mm256_srli_epi16(
      _mm256_cvtepu8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales[p]))),
      4);
}

// Q6_K, Q3_K and Q2_K: 16-weight sub-blocks. Per sub-block s, the quants
// (unsigned: Q6_K 0..63, Q3_K 0..7, Q2_K 0..3) times the activations, two
// maddubs added in int16 (at most 2 * 2 * 63 * 127 = 32004) before each
// madd by the rows' scales. Q6_K's offset 32 and Q3_K's 4 come back out as
// offset * sum_s scale[r][s] * (sum of sub-block s's activations); Q2_K's
// minimums as dmin[r] * sum_s min[r][s] * (that sum), in float.
template <typename Block, int NB>
FM_AVX2 GroupSums<NB> GroupSub16(const Block* blocks, int64_t nb,
                                 const Q8KActivations& x, int64_t i0) {
  constexpr bool kMins = std::is_same_v<Block, BlockQ2_Kx8>;
  constexpr int kOffsetShift = std::is_same_v<Block, BlockQ6_Kx8> ? 5 : 2;
  // From the pair layout [row][s % 2] as int16: scale s = 2p (even) or
  // 2p + 1 (odd) of row r into int16 lanes 2r and 2r + 1.
  const __m256i even =
      _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,  //
                       0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
  const __m256i odd = _mm256_setr_epi8(
      2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15,  //
      2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15);
  GroupSums<NB> acc;
  const int8_t* xs[NB];
  for (int n = 0; n < NB; ++n) {
    acc.v[n] = _mm256_setzero_ps();
    xs[n] = SpreadRow(x, i0 + n);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = blocks[b];
    // sumi: the quants' dots; corr: the offset's or the minimums' dots.
    __m256i sumi[NB], corr[NB];
    for (int n = 0; n < NB; ++n) {
      sumi[n] = _mm256_setzero_si256();
      corr[n] = _mm256_setzero_si256();
    }
    for (int p = 0; p < 8; ++p) {
      const __m256i pair = PairScales(blk, p);
      __m256i corr_factors = pair;
      if constexpr (kMins) corr_factors = PairMins(blk, p);
      for (int n = 0; n < NB; ++n) {
        int32_t sums;
        std::memcpy(&sums,
                    x.bsums.data() + (i0 + n) * (x.cols / 16) + 16 * b + 2 * p,
                    4);
        corr[n] = _mm256_add_epi32(
            corr[n], _mm256_madd_epi16(corr_factors, _mm256_set1_epi32(sums)));
      }
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * p + h;  // vectors 4s..4s+3
        __m256i v[4];
        SubBlockVectors(blk, s, v);
        const __m256i sc = _mm256_shuffle_epi8(pair, h == 0 ? even : odd);
        for (int n = 0; n < NB; ++n) {
          const int64_t pos = b * kQkK + 16 * s;
          const __m256i a = _mm256_add_epi16(
              _mm256_maddubs_epi16(v[0], Activations4(xs[n], pos)),
              _mm256_maddubs_epi16(v[1], Activations4(xs[n], pos + 4)));
          const __m256i c = _mm256_add_epi16(
              _mm256_maddubs_epi16(v[2], Activations4(xs[n], pos + 8)),
              _mm256_maddubs_epi16(v[3], Activations4(xs[n], pos + 12)));
          sumi[n] = _mm256_add_epi32(
              sumi[n], _mm256_add_epi32(_mm256_madd_epi16(a, sc),
                                        _mm256_madd_epi16(c, sc)));
        }
      }
    }
    const __m256 d = RowHalves(blk.d);
    __m256 dmin = _mm256_setzero_ps();
    if constexpr (kMins) dmin = RowHalves(blk.dmin);
    for (int n = 0; n < NB; ++n) {
      const __m256 xd = _mm256_set1_ps(x.d[(i0 + n) * (x.cols / kQkK) + b]);
      if constexpr (kMins) {
        acc.v[n] = _mm256_fmadd_ps(_mm256_mul_ps(d, xd),
                                   _mm256_cvtepi32_ps(sumi[n]), acc.v[n]);
        acc.v[n] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, xd),
                                    _mm256_cvtepi32_ps(corr[n]), acc.v[n]);
      } else {
        const __m256i total =
            _mm256_sub_epi32(sumi[n], _mm256_slli_epi32(corr[n], kOffsetShift));
        acc.v[n] = _mm256_fmadd_ps(_mm256_mul_ps(d, xd),
                                   _mm256_cvtepi32_ps(total), acc.v[n]);
      }
    }
  }
  return acc;
}

// acc + d[r] * xd * dot[r] per row lane: one block's integer dots scaled.
FM_AVX2 inline __m256 AddScaled(__m256 acc, __m256 d, float xd, __m256i dot) {
  return _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_set1_ps(xd)),
                         _mm256_cvtepi32_ps(dot), acc);
}

// Q8_0: 8 vectors per block; maddubs needs an unsigned operand, so |w|
// times x with w's sign (32258 at most per int16 lane: one maddubs, then a
// madd by ones to int32), and one float multiply-add per block by the
// rows' scales.
template <int NB>
FM_AVX2 GroupSums<NB> GroupQ8_0(const BlockQ8_0x8* blocks, int64_t nb,
                                const Q8Activations& x, int64_t i0) {
  const __m256i ones = _mm256_set1_epi16(1);
  const Inputs32<NB> in = Rows32<NB>(x, nb, i0);
  GroupSums<NB> acc;
  for (int n = 0; n < NB; ++n) acc.v[n] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ8_0x8& blk = blocks[b];
    PrefetchAhead(&blk, sizeof(blk));
    __m256i sumi[NB];
    for (int k = 0; k < 8; ++k) {
      const __m256i w = Load32(blk.qs[k]);
      const __m256i aw = _mm256_sign_epi8(w, w);
      for (int n = 0; n < NB; ++n) {
        const __m256i sx = _mm256_sign_epi8(
            Activations4(in.spread[n], b * kQ8BlockSize + 4 * k), w);
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones);
        sumi[n] = k == 0 ? p : _mm256_add_epi32(sumi[n], p);
      }
    }
    const __m256 d = RowHalves(blk.d);
    for (int n = 0; n < NB; ++n) {
      acc.v[n] = AddScaled(acc.v[n], d, in.d[n][b], sumi[n]);
    }
  }
  return acc;
}

// Q4_0, Q5_0, Q4_1, Q5_1: the 4- or 5-bit quants (unsigned) times the
// activations, maddubs added in int16 before a madd by ones (4 bits: all 8
// of a block, at most 8 * 2 * 15 * 127 = 30480; 5 bits: 4 at a time,
// 4 * 2 * 31 * 127 = 31496); the _0 types' offset 8 or 16 taken back out as
// offset * (sum of the block's activations), the _1 types' minimum added
// as m[r] * (that sum) in float.
template <typename Block, int NB>
FM_AVX2 GroupSums<NB> GroupNibbles32(const Block* blocks, int64_t nb,
                                     const Q8Activations& x, int64_t i0) {
  constexpr bool kFive =
      std::is_same_v<Block, BlockQ5_0x8> || std::is_same_v<Block, BlockQ5_1x8>;
  constexpr bool kMin =
      std::is_same_v<Block, BlockQ4_1x8> || std::is_same_v<Block, BlockQ5_1x8>;
  constexpr int kOffset = kMin ? 0 : kFive ? 16 : 8;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const Inputs32<NB> in = Rows32<NB>(x, nb, i0);
  GroupSums<NB> acc;
  for (int n = 0; n < NB; ++n) acc.v[n] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = blocks[b];
    PrefetchAhead(&blk, sizeof(blk));
    __m256i v[8];  // vector k: weights 4k..4k+3 of the 8 rows
    for (int m = 0; m < 4; ++m) {
      const __m256i q = Load32(blk.qs[m]);
      v[2 * m] = _mm256_and_si256(q, low4);
      v[2 * m + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    }
    if constexpr (kFive) {
      const __m256i qh = Load32(blk.qh);
      v[0] = WithFifthBit<0>(v[0], qh);
      v[1] = WithFifthBit<1>(v[1], qh);
      v[2] = WithFifthBit<2>(v[2], qh);
      v[3] = WithFifthBit<3>(v[3], qh);
      v[4] = WithFifthBit<4>(v[4], qh);
      v[5] = WithFifthBit<5>(v[5], qh);
      v[6] = WithFifthBit<6>(v[6], qh);
      v[7] = WithFifthBit<7>(v[7], qh);
    }
    const __m256 d = RowHalves(blk.d);
    __m256 m = _mm256_setzero_ps();
    if constexpr (kMin) m = RowHalves(blk.m);
    for (int n = 0; n < NB; ++n) {
      const int64_t pos = b * kQ8BlockSize;
      __m256i half[2];  // vectors 0-3 and 4-7, in int16
      for (int h = 0; h < 2; ++h) {
        __m256i s = _mm256_maddubs_epi16(
            v[4 * h], Activations4(in.spread[n], pos + 16 * h));
        for (int k = 1; k < 4; ++k) {
          s = _mm256_add_epi16(
              s, _mm256_maddubs_epi16(
                     v[4 * h + k],
                     Activations4(in.spread[n], pos + 16 * h + 4 * k)));
        }
        half[h] = s;
      }
      const __m256i dot =
          kFive ? _mm256_add_epi32(_mm256_madd_epi16(half[0], ones),
                                   _mm256_madd_epi16(half[1], ones))
                : _mm256_madd_epi16(_mm256_add_epi16(half[0], half[1]), ones);
      if constexpr (kMin) {
        acc.v[n] = AddScaled(acc.v[n], d, in.d[n][b], dot);
        acc.v[n] = _mm256_fmadd_ps(
            _mm256_mul_ps(m, _mm256_set1_ps(in.d[n][b])),
            _mm256_set1_ps(static_cast<float>(in.sums[n][b])), acc.v[n]);
      } else {
        acc.v[n] = AddScaled(
            acc.v[n], d, in.d[n][b],
            _mm256_sub_epi32(dot, _mm256_set1_epi32(kOffset * in.sums[n][b])));
      }
    }
  }
  return acc;
}

// One group's kernel for NB inputs, by the block type.
template <int NB, typename Block, typename Inputs>
FM_AVX2 GroupSums<NB> Group(const Block* blocks, int64_t nb, const Inputs& x,
                            int64_t i0) {
  constexpr GroupFamily kFamily = FamilyOf<Block>();
  if constexpr (kFamily == GroupFamily::kSub16) {
    return GroupSub16<Block, NB>(blocks, nb, x, i0);
  } else if constexpr (kFamily == GroupFamily::kQ45K) {
    return GroupQ45K<Block, NB>(blocks, nb, x, i0);
  } else if constexpr (kFamily == GroupFamily::kQ8_0) {
    return GroupQ8_0<NB>(blocks, nb, x, i0);
  } else {
    return GroupNibbles32<Block, NB>(blocks, nb, x, i0);
  }
}

// Group<NB> over every group and batch of inputs, stored.
template <typename Block, typename Inputs>
struct Avx2Groups {
  const Block* blocks;
  int64_t nb;  // blocks per row
  const Inputs& x;
  int64_t rows;
  float* out;

  template <int NB>
  FM_AVX2 void operator()(Width<NB>, int64_t g, int64_t lo, int64_t hi,
                          int64_t i) const {
    const GroupSums<NB> s = Group<NB>(blocks + g * nb, nb, x, i);
    for (int n = 0; n < NB; ++n) {
      StoreRows(s.v[n], g, lo, hi, i + n, rows, out);
    }
  }
};

}  // namespace

bool HasInterleavedKernel(DType dtype) {
  return Cpu().avx2_fma_f16c && IsQuantized(dtype);
}

void MatMulInterleavedAvx2(DType dtype, const void* packed,
                           const Q8Activations& x32, const Q8KActivations& xk,
                           int64_t rows, int64_t row_begin, int64_t row_end,
                           float* out) {
  RunInterleaved<Avx2Groups, 4, 2, 1>(dtype, packed, x32, xk, rows, row_begin,
                                      row_end, out);
}

void InterleaveForKernels(DType dtype, const void* w, int64_t rows,
                          int64_t cols, uint8_t* out) {
  InterleaveRows(dtype, w, rows, cols, out);
  if (HasInterleavedVnni()) ReorderForVnni(dtype, out, rows, cols);
}

const char* IntegerKernelName() {
  if (HasInterleavedVnni()) return "avx512vnni";
  return Cpu().avx2_fma_f16c ? "avx2" : "scalar";
}

void MatMulInterleaved(DType dtype, const void* packed,
                       const Q8Activations& x32, const Q8KActivations& xk,
                       int64_t rows, int64_t row_begin, int64_t row_end,
                       float* out) {
  if (HasInterleavedVnni()) {
    return MatMulInterleavedVnni(dtype, packed, x32, xk, rows, row_begin,
                                 row_end, out);
  }
  MatMulInterleavedAvx2(dtype, packed, x32, xk, rows, row_begin, row_end, out);
}

}  // namespace fm::model
