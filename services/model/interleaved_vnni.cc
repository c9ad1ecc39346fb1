// The AVX-512 VNNI kernels over interleaved rows (interleaved_layout.h).
//
// One 64-byte register holds two consecutive vectors k, k + 1 of a group
// (4 weights of each of the 8 rows apiece) in "pair lanes": 32-bit lane
// 2r holds row r's 4 weights of vector k, lane 2r + 1 its 4 of vector
// k + 1. One vpdpbusd multiplies all 64 weights by their activations and
// adds each lane's 4 products into int32: what in AVX2 is 2 maddubs, an
// int16 add and a share of a madd. Pair lanes make the activations one
// 8-byte broadcast (x[4k .. 4k + 7] in every 64-bit lane), which the CPU
// does in its load unit, so the inputs are read as they are (no spread
// copy, 1/8 of its bytes). The weights are re-ordered at load into pair
// lanes (ReorderForVnni) where that saves a permute per register: all but
// Q3_K's, Q2_K's and the fifth bits of the Q5 types, which pay one per
// register, shared by all the inputs of a batch.
//
// Values below zero: every type's quants stay unsigned (Q8_0 stored +
// 128) and each dot starts at -offset * (sum of the activations it
// multiplies): per block for Q8_0, Q4_0 and Q5_0, per pair lane of a
// 16-weight sub-block for Q6_K and Q3_K (OffsetStart), whose offset is
// scaled with the sub-block, so the dot must be exact before it is.
//
// Every kernel computes the same integers as its AVX2 counterpart
// (interleaved_matmul.cc) and then the same float operations in the same
// order, so the two give bit-identical results. The K types' sub-block
// dots fit int16 per lane (Q5_K's in halves), so two of them are packed
// and multiplied by their scales with one vpdpwssd, which also adds each
// row's two pair lanes; the 32-weight types add them with a shift. The
// bounds assume activations within +-127, which both quantizers ensure.
#include "services/model/interleaved_vnni.h"

// GCC 12's AVX headers trip -Wuninitialized on their own placeholders.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "services/model/avx2_stream.h"
#include "services/model/cpu_features.h"
#include "services/model/interleaved_groups.h"
#include "services/model/quant_blocks.h"

namespace fm::model {
namespace {

#define FM_VNNI                                               \
  __attribute__((                                             \
      target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni," \
             "avx2,fma,f16c")))

// Where a kernel's float accumulator keeps the group's row r: lane 2r
// (kEven: the 32-weight types, whose pair lanes are added in place) or
// lane 4 * (r / 2) + r % 2 (kPacked: the K types, whose vpdpwssd
// leaves rows 2L, 2L + 1 in dwords 0 and 1 of 128-bit lane L). The other
// lanes hold finite values that are never stored.
enum class RowLanes { kEven, kPacked };

// The group's 8 rows' sums for NB inputs (lanes by RowLanes).
template <int NB>
struct GroupSums512 {
  __m512 v[NB];
};

FM_VNNI inline __m512i Load64(const void* p) { return _mm512_loadu_si512(p); }

// 8 bytes as one integer (an unaligned load).
inline int64_t LoadInt64(const void* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The activations of vectors k, k + 1 (k = pos / 4) in pair lanes:
// x[pos .. pos + 7] in every 64-bit lane, one load-unit broadcast.
FM_VNNI inline __m512i Activations8(const int8_t* x, int64_t pos) {
  return _mm512_set1_epi64(LoadInt64(x + pos));
}

// x[pos .. pos + 3] in every 32-bit lane (the 16-row kernels' vectors).
FM_VNNI inline __m512i Activations4(const int8_t* x, int64_t pos) {
  int32_t v;
  std::memcpy(&v, x + pos, 4);
  return _mm512_set1_epi32(v);
}

// acc + the 4 products of each lane, for unsigned weights w and signed
// activations a in pair lanes.
FM_VNNI inline __m512i Dot(__m512i acc, __m512i w, __m512i a) {
  return _mm512_dpbusd_epi32(acc, w, a);
}

// Where the dots of a 16-weight sub-block of unsigned quants with offset
// kOffset (Q6_K's 32, Q3_K's 4) start, from the activations' offset
// starts (Q8KActivations::offset_starts: -32 * the sum of the activations
// each pair lane multiplies): -kOffset * that sum, so that the dots come
// out as those of the signed weights. 32 / kOffset divides the stored
// values, so the shift is exact.
template <int kOffset>
FM_VNNI inline __m512i OffsetStart(const int64_t* starts, int64_t s) {
  static_assert(kOffset == 32 || kOffset == 4);
  const __m512i start32 = _mm512_set1_epi64(starts[s]);
  return kOffset == 32 ? start32 : _mm512_srai_epi32(start32, 3);
}

// A 32-bit lane pattern: `even` in the even lanes, `odd` in the odd ones.
FM_VNNI inline __m512i EvenOdd(int32_t even, int32_t odd) {
  return _mm512_set1_epi64(static_cast<int64_t>(
      (static_cast<uint64_t>(static_cast<uint32_t>(odd)) << 32) |
      static_cast<uint32_t>(even)));
}

// 32 bytes of 8 rows (row r's at 4r .. 4r + 3) with each row's 4 bytes in
// both of its pair lanes.
FM_VNNI inline __m512i BothLanes(const uint8_t* bytes32) {
  const __m512i twice = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3,  //
                                          4, 4, 5, 5, 6, 6, 7, 7);
  return _mm512_permutexvar_epi32(twice,
                                  _mm512_castsi256_si512(Load32(bytes32)));
}

// Each byte's bits [kEven, +kWidth) in the even lanes and [kOdd, +kWidth)
// in the odd lanes of a BothLanes copy: 32-bit shifts are exact per byte
// once masked.
template <int kEven, int kOdd, int kWidth>
FM_VNNI inline __m512i BitField(__m512i both) {
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1 << kWidth) - 1));
  return _mm512_and_si512(_mm512_srlv_epi32(both, EvenOdd(kEven, kOdd)), mask);
}

// v + 2^kTo in each byte whose bit kEven (even lanes) or kOdd (odd lanes)
// is set in `bits` (a BothLanes copy): a high bit of the quants.
template <int kEven, int kOdd, int kTo>
FM_VNNI inline __m512i WithHighBit(__m512i v, __m512i bits) {
  const __m512i select = EvenOdd(0x01010101 << kEven, 0x01010101 << kOdd);
  return _mm512_mask_add_epi8(v, _mm512_test_epi8_mask(bits, select), v,
                              _mm512_set1_epi8(static_cast<char>(1 << kTo)));
}

// 4-bit quants of 32 weights of the 8 rows (vectors 8j .. 8j + 7) as
// ReorderForVnni lays them: chunk c (64 bytes) holds in pair lane 2r + p,
// as low nibbles, row r's weights of vector 8j + 4c + p, and as high
// nibbles those of vector 8j + 4c + 2 + p; so one load and a mask (or a
// shift and a mask) give a register of two vectors in pair lanes, no
// permute. Q4_K's and Q5_K's sub-blocks, the 32-weight types' blocks.
using NibbleChunks = uint8_t[2][64];

// v[m] = vectors (8j + 2m, + 1) in pair lanes (m = 0..3), from chunks.
FM_VNNI inline void NibbleChunkPairs(const NibbleChunks& chunks, __m512i* v) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int c = 0; c < 2; ++c) {
    const __m512i chunk = Load64(chunks[c]);
    v[2 * c] = _mm512_and_si512(chunk, low4);
    v[2 * c + 1] = _mm512_and_si512(_mm512_srli_epi16(chunk, 4), low4);
  }
}

// The same from the 32-weight types' blocks (qs[4][32] as ReorderForVnni
// left them).
FM_VNNI inline void NibbleChunkPairs(const uint8_t (&qs)[4][32], __m512i* v) {
  NibbleChunkPairs(reinterpret_cast<const NibbleChunks&>(qs), v);
}

// 8 per-row floats in a kernel's row lanes.
template <RowLanes kLanes>
FM_VNNI inline __m512 InRowLanes(__m256 rows) {
  const __m512i even = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3,  //
                                         4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i packed = _mm512_setr_epi32(0, 1, 0, 1, 2, 3, 2, 3,  //
                                           4, 5, 4, 5, 6, 7, 6, 7);
  return _mm512_permutexvar_ps(kLanes == RowLanes::kEven ? even : packed,
                               _mm512_castps256_ps512(rows));
}

// The 8 rows out of a kernel's row lanes.
template <RowLanes kLanes>
FM_VNNI inline __m256 FromRowLanes(__m512 v) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,  //
                                         0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i packed = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13,  //
                                           0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castps512_ps256(
      _mm512_permutexvar_ps(kLanes == RowLanes::kEven ? even : packed, v));
}

// A pair-lane dot's rows in the even lanes (each row's two lanes added).
FM_VNNI inline __m512i FoldPairLanes(__m512i dot) {
  return _mm512_add_epi32(dot, _mm512_srli_epi64(dot, 32));
}

// int16 scale words for ScaledPair: in 128-bit lane L, rows 2L, 2L + 1 of
// sub-block a (each twice), then of sub-block b, from 16 bytes (`bytes`)
// arranged by `pick` (byte indices for lanes 0-1 and 2-3 in turn).
FM_VNNI inline __m512i ScaleWords(__m128i bytes, __m256i pick, bool is_signed) {
  const __m256i picked =
      _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(bytes), pick);
  return is_signed ? _mm512_cvtepi8_epi16(picked)
                   : _mm512_cvtepu8_epi16(picked);
}

// Picks for ScaleWords: sub-blocks a, b in bytes 0-7 and 8-15 (row r at r),
// or in the pair layout [row][2] (row r's a at 2r, b at 2r + 1).
FM_VNNI inline __m256i PickSplit() {
  return _mm256_setr_epi8(0, 0, 1, 1, 8, 8, 9, 9, 2, 2, 3, 3, 10, 10, 11, 11, 4,
                          4, 5, 5, 12, 12, 13, 13, 6, 6, 7, 7, 14, 14, 15, 15);
}
FM_VNNI inline __m256i PickPairs() {
  return _mm256_setr_epi8(0, 0, 2, 2, 1, 1, 3, 3, 4, 4, 6, 6, 5, 5, 7, 7,  //
                          8, 8, 10, 10, 9, 9, 11, 11, 12, 12, 14, 14, 13, 13,
                          15, 15);
}

// acc + scale_a[r] * dot_a[r] + scale_b[r] * dot_b[r] per row, exactly:
// two pair-lane dots (every lane within int16) packed side by side and
// multiplied by `words` (ScaleWords) with one vpdpwssd, which adds each
// row's two lanes too. The rows of a land in dwords 0 and 1 of each
// 128-bit lane, b's in 2 and 3 (FoldPacked adds them).
FM_VNNI inline __m512i ScaledPair(__m512i acc, __m512i dot_a, __m512i dot_b,
                                  __m512i words) {
  return _mm512_dpwssd_epi32(acc, _mm512_packs_epi32(dot_a, dot_b), words);
}

// ScaledPair sums to rows in kPacked lanes.
FM_VNNI inline __m512i FoldPacked(__m512i sums) {
  return _mm512_add_epi32(sums, _mm512_bsrli_epi128(sums, 8));
}

// Row i's int8 activations.
template <typename Inputs>
inline const int8_t* QuantsRow(const Inputs& x, int64_t i) {
  return x.qs.data() + i * x.cols;
}

// Q4_K's and Q5_K's quants as ReorderForVnni lays them: sub-block j's in
// NibbleChunks.
using VnniQs45 = NibbleChunks[8];
static_assert(sizeof(VnniQs45) == sizeof(BlockQ4_Kx8::qs));

// A block's Q4_K / Q5_K minimums as int16 words in their pair layout
// [j / 2][row][j % 2]: words[0] j = 0..3, words[1] j = 4..7.
struct MinsWords {
  __m512i words[2];
};

FM_VNNI inline MinsWords MinsWordsOf(const uint8_t (&mins)[4][kInterleave][2]) {
  MinsWords m;
  m.words[0] = _mm512_cvtepu8_epi16(Load32(mins[0]));
  m.words[1] = _mm512_cvtepu8_epi16(Load32(mins[2]));
  return m;
}

// The AVX2 kernel's minimums' integers (MinsDot, interleaved_matmul.cc)
// for input i, super-block b, in
// two vpdpwssd: dword (j / 2 % 2) * 8 + r of the sum holds row r's
// mins[j][r] * sum32[j] + mins[j + 1][r] * sum32[j + 1] for j = 0, 4 and
// j = 2, 6 (j even), then the two halves are added.
FM_VNNI inline __m256i MinsDot512(const MinsWords& m, const Q8KActivations& x,
                                  int64_t i, int64_t b) {
  const int16_t* sums32 = x.bsums32.data() + i * (x.cols / 32) + 8 * b;
  const __m512i pairs = _mm512_castsi128_si512(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(sums32)));
  // Dword p of `pairs` is the sums of sub-blocks 2p, 2p + 1.
  const __m512i lo = _mm512_permutexvar_epi32(
      _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), pairs);
  const __m512i hi = _mm512_permutexvar_epi32(
      _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), pairs);
  const __m512i sum =
      _mm512_dpwssd_epi32(_mm512_madd_epi16(m.words[0], lo), m.words[1], hi);
  return _mm256_add_epi32(_mm512_castsi512_si256(sum),
                          _mm512_extracti64x4_epi64(sum, 1));
}

// Q4_K and Q5_K: per sub-block j (32 weights), 4 vpdpbusd per input; the
// dots of sub-blocks j, j + 1 (Q4_K: at most 16 * 15 * 127 per lane) or
// of j's two chunks (Q5_K: 8 * 31 * 127) scaled by the rows' 6-bit scales
// with one ScaledPair. The minimums' part is sum_j min[r][j] * (sum of
// sub-block j's activations), as the AVX2 kernel computes it.
//
// A step is one ScaledPair: Q4_K's takes two sub-blocks (8 registers of
// weights), Q5_K's one (4). Every dot a step needs is in registers within
// it, so that nothing goes through memory between steps, and each input's
// two dots are independent chains (vpdpbusd's latency is hidden by the
// other chain and the other inputs).
template <typename Block, int NB>
FM_VNNI GroupSums512<NB> GroupQ45K(const Block* blocks, int64_t nb,
                                   const Q8KActivations& x, int64_t i0) {
  constexpr bool kFive = std::is_same_v<Block, BlockQ5_Kx8>;
  constexpr RowLanes kLanes = RowLanes::kPacked;
  constexpr int kSubBlocks = kFive ? 1 : 2;  // per step
  constexpr int kRegs = 4 * kSubBlocks;      // weight registers per step
  GroupSums512<NB> acc;
  const int8_t* xs[NB];
  for (int n = 0; n < NB; ++n) {
    acc.v[n] = _mm512_setzero_ps();
    xs[n] = QuantsRow(x, i0 + n);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = blocks[b];
    const VnniQs45& qs = reinterpret_cast<const VnniQs45&>(blk.qs);
    __m512i sumi[NB];
    for (int n = 0; n < NB; ++n) sumi[n] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int step = 0; step < 8 / kSubBlocks; ++step) {
      // Register 4u + 2c: vectors (8j + 4c, + 1) of sub-block j = first +
      // u, weights 32j + 16c + 0..7 of every row; 4u + 2c + 1: vectors
      // (8j + 4c + 2, + 3), weights 32j + 16c + 8..15. Register k pairs
      // with activations pos + 8k.
      const int first = step * kSubBlocks;
      __m512i q[kRegs];
      for (int u = 0; u < kSubBlocks; ++u) {
        const int j = first + u;
        PrefetchAhead(qs[j], sizeof(qs[j]));
        NibbleChunkPairs(qs[j], q + 4 * u);
      }
      if constexpr (kFive) {
        PrefetchAhead(blk.qh[first], sizeof(blk.qh[first]));
        const __m512i qh = BothLanes(blk.qh[first]);
        q[0] = WithHighBit<0, 1, 4>(q[0], qh);
        q[1] = WithHighBit<2, 3, 4>(q[1], qh);
        q[2] = WithHighBit<4, 5, 4>(q[2], qh);
        q[3] = WithHighBit<6, 7, 4>(q[3], qh);
      }
      // Scales of sub-blocks first and first + 1 (Q4_K) or of first twice
      // (Q5_K).
      const __m128i bytes =
          kFive ? _mm_set1_epi64x(LoadInt64(blk.scales[first]))
                : _mm_loadu_si128(
                      reinterpret_cast<const __m128i*>(blk.scales[first]));
      const __m512i words = ScaleWords(bytes, PickSplit(), false);
      const int64_t pos = b * kQkK + 32 * first;
      for (int n = 0; n < NB; ++n) {
        __m512i dot[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int k = 0; k < kRegs; ++k) {
          dot[2 * k / kRegs] = _mm512_dpbusd_epi32(
              dot[2 * k / kRegs], q[k], Activations8(xs[n], pos + 8 * k));
        }
        sumi[n] = ScaledPair(sumi[n], dot[0], dot[1], words);
      }
    }
    const __m512 d = InRowLanes<kLanes>(RowHalves(blk.d));
    const __m512 dmin = InRowLanes<kLanes>(RowHalves(blk.dmin));
    const MinsWords mins_words = MinsWordsOf(blk.mins);
    for (int n = 0; n < NB; ++n) {
      const __m512 xd = _mm512_set1_ps(x.d[(i0 + n) * (x.cols / kQkK) + b]);
      const __m512 mins = InRowLanes<kLanes>(
          _mm256_cvtepi32_ps(MinsDot512(mins_words, x, i0 + n, b)));
      acc.v[n] =
          _mm512_fmadd_ps(_mm512_mul_ps(d, xd),
                          _mm512_cvtepi32_ps(FoldPacked(sumi[n])), acc.v[n]);
      acc.v[n] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, xd), mins, acc.v[n]);
    }
  }
  return acc;
}

// 32 weights' quants from the InterleaveRows order (qs[t], low and high
// nibbles = vectors 2t, 2t + 1 of them) into NibbleChunks.
void ReorderNibbles(uint8_t (&qs)[4][32]) {
  NibbleChunks out;
  for (int c = 0; c < 2; ++c) {
    for (int r = 0; r < kInterleave; ++r) {
      for (int p = 0; p < 2; ++p) {
        for (int i = 0; i < 4; ++i) {
          // Vector 4c + p is old t = 2c, nibble p; vector 4c + 2 + p is
          // old t = 2c + 1, nibble p.
          const int low = (qs[2 * c][4 * r + i] >> (4 * p)) & 0x0F;
          const int high = (qs[2 * c + 1][4 * r + i] >> (4 * p)) & 0x0F;
          out[c][4 * (2 * r + p) + i] = static_cast<uint8_t>(low | (high << 4));
        }
      }
    }
  }
  std::memcpy(qs, out, sizeof(out));
}

// Sub-block s's vector pairs (4s, 4s + 1) and (4s + 2, 4s + 3) as unsigned
// quants in pair lanes, for the types with 16-weight sub-blocks.
// Q6_K's quants as ReorderForVnni lays them, per pair p of sub-blocks
// (2p, 2p + 1): [p][h] (h = 0, 1) holds sub-block s = 2p + h's low 4 bits,
// in pair lane 2r + c as low nibbles row r's vector 4s + c and as high
// nibbles its vector 4s + 2 + c; [p][2] holds the pair's top 2 bits, in
// pair lane 2r + c: bits 0-1 vector 8p + c, 2-3 vector 8p + 2 + c, 4-5
// vector 8p + 4 + c, 6-7 vector 8p + 6 + c. Every register then takes a
// shift and masks, no permute.
using VnniQ6 = uint8_t[8][3][64];
static_assert(sizeof(VnniQ6) == sizeof(BlockQ6_Kx8::q));

// Sub-blocks 2p, 2p + 1's vector pairs (v[h][0]: vectors 4s, 4s + 1;
// v[h][1]: 4s + 2, 4s + 3; s = 2p + h) as unsigned quants in pair lanes.
FM_VNNI inline void SubBlockPairsOfPair(const BlockQ6_Kx8& blk, int p,
                                        __m512i (&v)[2][2]) {
  const VnniQ6& q = reinterpret_cast<const VnniQ6&>(blk.q);
  PrefetchAhead(q[p], sizeof(q[p]));
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  const __m512i qh = Load64(q[p][2]);
  // Each byte's field moved to bits 4-5: 16-bit shifts, exact per byte
  // once masked (what crosses a byte lands outside bits 4-5).
  const __m512i top[4] = {
      _mm512_and_si512(_mm512_slli_epi16(qh, 4), bits45),
      _mm512_and_si512(_mm512_slli_epi16(qh, 2), bits45),
      _mm512_and_si512(qh, bits45),
      _mm512_and_si512(_mm512_srli_epi16(qh, 2), bits45),
  };
  for (int h = 0; h < 2; ++h) {
    const __m512i ql = Load64(q[p][h]);
    v[h][0] = _mm512_or_si512(_mm512_and_si512(ql, low4), top[2 * h]);
    v[h][1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                              top[2 * h + 1]);
  }
}

FM_VNNI inline void SubBlockPairs(const BlockQ3_Kx8& blk, int s, __m512i v[2]) {
  const auto& pair = blk.q[s / 2];
  if (s % 2 == 0) PrefetchAhead(&pair, sizeof(pair));
  const __m512i qh = BothLanes(pair.qh);
  const __m512i low2 = BothLanes(pair.ql[s % 2]);
  // Vector 8p + 4h + c: its low 2 bits at bits 2c, 2c + 1 of ql[h], its
  // third at bit 4h + c of qh.
  v[0] = BitField<0, 2, 2>(low2);
  v[1] = BitField<4, 6, 2>(low2);
  if (s % 2 == 0) {
    v[0] = WithHighBit<0, 1, 2>(v[0], qh);
    v[1] = WithHighBit<2, 3, 2>(v[1], qh);
  } else {
    v[0] = WithHighBit<4, 5, 2>(v[0], qh);
    v[1] = WithHighBit<6, 7, 2>(v[1], qh);
  }
}

FM_VNNI inline void SubBlockPairs(const BlockQ2_Kx8& blk, int s, __m512i v[2]) {
  PrefetchAhead(blk.qs[s], sizeof(blk.qs[s]));
  const __m512i q = BothLanes(blk.qs[s]);
  v[0] = BitField<0, 2, 2>(q);
  v[1] = BitField<4, 6, 2>(q);
}

// The two sub-blocks of pair p (the types read one sub-block at a time).
template <typename Block>
FM_VNNI inline void SubBlockPairsOfPair(const Block& blk, int p,
                                        __m512i (&v)[2][2]) {
  SubBlockPairs(blk, 2 * p, v[0]);
  SubBlockPairs(blk, 2 * p + 1, v[1]);
}

// Sub-blocks 2p, 2p + 1's scale words (ScaleWords) from the pair layout
// [p][row][s % 2]: Q6_K's and Q3_K's signed bytes, Q2_K's low nibbles.
template <typename Block>
FM_VNNI inline __m512i PairScaleWords(const Block& blk, int p) {
  const __m128i bytes =
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales[p]));
  if constexpr (std::is_same_v<Block, BlockQ2_Kx8>) {
    return ScaleWords(_mm_and_si128(bytes, _mm_set1_epi8(0x0F)), PickPairs(),
                      false);
  } else {
    return ScaleWords(bytes, PickPairs(), true);
  }
}

// Q2_K's minimums' dot for input i, super-block b, per row (as the AVX2
// kernel computes it): sum_s min[r][s] * (sum of sub-block s's
// activations).
__attribute__((target("avx2"))) inline __m256i Q2KMinsDot(
    const BlockQ2_Kx8& blk, const Q8KActivations& x, int64_t i, int64_t b) {
  const int16_t* sums = x.bsums.data() + i * (x.cols / 16) + 16 * b;
  __m256i m = _mm256_setzero_si256();
  for (int p = 0; p < 8; ++p) {
    int32_t pair;
    std::memcpy(&pair, sums + 2 * p, 4);
    const __m256i mins = _mm256_srli_epi16(
        _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales[p]))),
        4);
    m = _mm256_add_epi32(m, _mm256_madd_epi16(mins, _mm256_set1_epi32(pair)));
  }
  return m;
}

// Q6_K, Q3_K and Q2_K: per sub-block s (16 weights), 2 vpdpbusd per input,
// sub-blocks 2p and 2p + 1 scaled by the rows' scales with one ScaledPair
// (a dot is at most 8 * 127 * 32 per lane). Q6_K's and Q3_K's dots start
// at their offset's share (OffsetStart, 32 and 4); Q2_K's minimums:
// dmin[r] * sum_s min[r][s] * (sum of s's activations).
template <typename Block, int NB>
FM_VNNI GroupSums512<NB> GroupSub16(const Block* blocks, int64_t nb,
                                    const Q8KActivations& x, int64_t i0) {
  constexpr bool kMins = std::is_same_v<Block, BlockQ2_Kx8>;
  constexpr int kOffset = std::is_same_v<Block, BlockQ6_Kx8>   ? 32
                          : std::is_same_v<Block, BlockQ3_Kx8> ? 4
                                                               : 0;
  constexpr RowLanes kLanes = RowLanes::kPacked;
  GroupSums512<NB> acc;
  const int8_t* xs[NB];
  const int64_t* starts[NB];  // the inputs' offset starts, per sub-block
  for (int n = 0; n < NB; ++n) {
    acc.v[n] = _mm512_setzero_ps();
    xs[n] = QuantsRow(x, i0 + n);
    starts[n] = x.offset_starts.data() + (i0 + n) * (x.cols / 16);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = blocks[b];
    __m512i sumi[NB];
    for (int n = 0; n < NB; ++n) sumi[n] = _mm512_setzero_si512();
      // Step p: sub-blocks 2p, 2p + 1, all their weights in registers, and
      // each input's two dots as independent chains (as GroupQ45K).
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      __m512i v[2][2];  // [h]: sub-block 2p + h's vector pairs
      SubBlockPairsOfPair(blk, p, v);
      const __m512i words = PairScaleWords(blk, p);
      const int64_t pos = b * kQkK + 32 * p;
      for (int n = 0; n < NB; ++n) {
        __m512i dot[2];
        for (int h = 0; h < 2; ++h) {
          dot[h] = _mm512_setzero_si512();
          if constexpr (kOffset != 0) {
            dot[h] = OffsetStart<kOffset>(starts[n], b * 16 + 2 * p + h);
          }
          dot[h] = Dot(dot[h], v[h][0], Activations8(xs[n], pos + 16 * h));
          dot[h] = Dot(dot[h], v[h][1], Activations8(xs[n], pos + 16 * h + 8));
        }
        sumi[n] = ScaledPair(sumi[n], dot[0], dot[1], words);
      }
    }
    const __m512 d = InRowLanes<kLanes>(RowHalves(blk.d));
    __m512 dmin = _mm512_setzero_ps();
    if constexpr (kMins) dmin = InRowLanes<kLanes>(RowHalves(blk.dmin));
    for (int n = 0; n < NB; ++n) {
      const __m512 xd = _mm512_set1_ps(x.d[(i0 + n) * (x.cols / kQkK) + b]);
      acc.v[n] =
          _mm512_fmadd_ps(_mm512_mul_ps(d, xd),
                          _mm512_cvtepi32_ps(FoldPacked(sumi[n])), acc.v[n]);
      if constexpr (kMins) {
        const __m512 mins = InRowLanes<kLanes>(
            _mm256_cvtepi32_ps(Q2KMinsDot(blk, x, i0 + n, b)));
        acc.v[n] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, xd), mins, acc.v[n]);
      }
    }
  }
  return acc;
}

// Where NB inputs' quants, block scales and block sums start.
template <int NB>
struct Rows32Vnni {
  const int8_t* qs[NB];
  const float* d[NB];
  const int16_t* sums[NB];
};

template <int NB>
FM_VNNI inline Rows32Vnni<NB> RowsOf(const Q8Activations& x, int64_t nb,
                                     int64_t i0) {
  Rows32Vnni<NB> in;
  for (int n = 0; n < NB; ++n) {
    in.qs[n] = QuantsRow(x, i0 + n);
    in.d[n] = x.d.data() + (i0 + n) * nb;
    in.sums[n] = x.sums.data() + (i0 + n) * nb;
  }
  return in;
}

// acc + d[r] * xd * dot[r] per row: one block's integer dots scaled, as
// the AVX2 kernels' AddScaled.
FM_VNNI inline __m512 AddScaled(__m512 acc, __m512 d, float xd, __m512i dot) {
  return _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(xd)),
                         _mm512_cvtepi32_ps(dot), acc);
}

// Q8_0's quants as ReorderForVnni lays them: vector pairs (2m, 2m + 1) in
// pair lanes, each quant + 128 as an unsigned byte.
using VnniQ8 = uint8_t[4][64];
static_assert(sizeof(VnniQ8) == sizeof(BlockQ8_0x8::qs));

// Q8_0: 4 vpdpbusd per block and input of the unsigned quants (q + 128,
// as laid at load) with the activations, each row's dot starting at -128
// * (sum of the block's activations); one multiply-add by the rows'
// scales. The weights go straight from memory into vpdpbusd.
template <int NB>
FM_VNNI GroupSums512<NB> GroupQ8_0(const BlockQ8_0x8* blocks, int64_t nb,
                                   const Q8Activations& x, int64_t i0) {
  const Rows32Vnni<NB> in = RowsOf<NB>(x, nb, i0);
  GroupSums512<NB> acc;
  for (int n = 0; n < NB; ++n) acc.v[n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ8_0x8& blk = blocks[b];
    const VnniQ8& qs = reinterpret_cast<const VnniQ8&>(blk.qs);
    PrefetchAhead(&blk, sizeof(blk));
    __m512i w[4];  // vector pairs (2m, 2m + 1)
    for (int m = 0; m < 4; ++m) w[m] = Load64(qs[m]);
    const __m512 d = InRowLanes<RowLanes::kEven>(RowHalves(blk.d));
    for (int n = 0; n < NB; ++n) {
      const int8_t* xb = in.qs[n] + b * kQ8BlockSize;
      __m512i dot = EvenOdd(-128 * in.sums[n][b], 0);
      for (int m = 0; m < 4; ++m) {
        dot = Dot(dot, w[m], Activations8(xb, 8 * m));
      }
      acc.v[n] = AddScaled(acc.v[n], d, in.d[n][b], FoldPairLanes(dot));
    }
  }
  return acc;
}

// Q4_0, Q5_0, Q4_1, Q5_1: 4 vpdpbusd per block and input of the unsigned
// quants with the activations. The _0 types' values are the quants less
// their offset (8, 16): each row's dot starts at -offset * (sum of the
// block's activations), one broadcast per input, which costs less than
// signing the weights and biasing the dot (9 instructions per block) for
// every batch width up to 8; the _1 types' minimum is added as m[r] * (sum
// of the block's activations) in float.
template <typename Block, int NB>
FM_VNNI GroupSums512<NB> GroupNibbles32(const Block* blocks, int64_t nb,
                                        const Q8Activations& x, int64_t i0) {
  constexpr bool kFive =
      std::is_same_v<Block, BlockQ5_0x8> || std::is_same_v<Block, BlockQ5_1x8>;
  constexpr bool kMin =
      std::is_same_v<Block, BlockQ4_1x8> || std::is_same_v<Block, BlockQ5_1x8>;
  constexpr int kOffset = kMin ? 0 : kFive ? 16 : 8;
  constexpr RowLanes kLanes = RowLanes::kEven;
  const Rows32Vnni<NB> in = RowsOf<NB>(x, nb, i0);
  GroupSums512<NB> acc;
  for (int n = 0; n < NB; ++n) acc.v[n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = blocks[b];
    PrefetchAhead(&blk, sizeof(blk));
    __m512i v[4];  // vector pairs (2m, 2m + 1)
    NibbleChunkPairs(blk.qs, v);
    if constexpr (kFive) {
      const __m512i qh = BothLanes(blk.qh);
      v[0] = WithHighBit<0, 1, 4>(v[0], qh);
      v[1] = WithHighBit<2, 3, 4>(v[1], qh);
      v[2] = WithHighBit<4, 5, 4>(v[2], qh);
      v[3] = WithHighBit<6, 7, 4>(v[3], qh);
    }
    const __m512 d = InRowLanes<kLanes>(RowHalves(blk.d));
    __m512 m = _mm512_setzero_ps();
    if constexpr (kMin) m = InRowLanes<kLanes>(RowHalves(blk.m));
    for (int n = 0; n < NB; ++n) {
      // The offset's part in each row's even pair lane (FoldPairLanes
      // adds the odd one to it).
      __m512i dot =
          kMin ? _mm512_setzero_si512() : EvenOdd(-kOffset * in.sums[n][b], 0);
      const int8_t* xb = in.qs[n] + b * kQ8BlockSize;
      for (int k = 0; k < 4; ++k) {
        dot = Dot(dot, v[k], Activations8(xb, 8 * k));
      }
      acc.v[n] = AddScaled(acc.v[n], d, in.d[n][b], FoldPairLanes(dot));
      if constexpr (kMin) {
        acc.v[n] = _mm512_fmadd_ps(
            _mm512_mul_ps(m, _mm512_set1_ps(in.d[n][b])),
            _mm512_set1_ps(static_cast<float>(in.sums[n][b])), acc.v[n]);
      }
    }
  }
  return acc;
}

// Q8_0 and Q4_0 in 16-row groups: ReorderForVnni lays each two
// neighbouring 8-row groups (2G, 2G + 1) out as one group of 16 rows
// (a matrix with an odd group count keeps its last as 8). A 64-byte
// register then holds one vector of 4 weights of all 16 rows (row r's at
// bytes 4r .. 4r + 3), so a vpdpbusd leaves each row's dot in a lane of
// its own: no pair lanes to fold, and every lane of the float scaling
// carries a row (8 rows per register spend half of it, and two
// instructions per block and input to fold). Per block and input, Q8_0
// and Q4_0 take 8 vpdpbusd and 3 float instructions for 16 rows, where 8
// rows take 4 vpdpbusd and 5 others. The dots are the same integers and
// the scaling the same float operations, so the results are bit-identical
// to the 8-row kernels and to AVX2's.
inline constexpr int kRows16 = 2 * kInterleave;

// One 32-weight block of 16 Q8_0 rows: qs[k] = vector k, each quant + 128.
struct BlockQ8_0x16 {
  uint16_t d[kRows16];  // fp16, per row
  uint8_t qs[8][64];
};
static_assert(sizeof(BlockQ8_0x16) == 2 * sizeof(BlockQ8_0x8));

// One 32-weight block of 16 Q4_0 rows: qs[m] holds vector 2m in the low
// nibbles and vector 2m + 1 in the high ones.
struct BlockQ4_0x16 {
  uint16_t d[kRows16];  // fp16, per row
  uint8_t qs[4][64];
};
static_assert(sizeof(BlockQ4_0x16) == 2 * sizeof(BlockQ4_0x8));

// The 16-row block of each 8-row block type that has one.
template <typename Block8>
struct Rows16Of {
  using type = void;
};
template <>
struct Rows16Of<BlockQ8_0x8> {
  using type = BlockQ8_0x16;
};
template <>
struct Rows16Of<BlockQ4_0x8> {
  using type = BlockQ4_0x16;
};
template <typename Block8>
using Block16Of = typename Rows16Of<Block8>::type;

// Two 8-row groups' row factors as one 16-row group's.
void MergeScales16(const uint16_t (&a)[kInterleave],
                   const uint16_t (&b)[kInterleave], uint16_t (&out)[kRows16]) {
  std::memcpy(out, a, sizeof(a));
  std::memcpy(out + kInterleave, b, sizeof(b));
}

// Two 8-row blocks (InterleaveRows order) as one 16-row block.
void MergeRows16(const BlockQ8_0x8& a, const BlockQ8_0x8& b,
                 BlockQ8_0x16& out) {
  MergeScales16(a.d, b.d, out.d);
  for (int k = 0; k < 8; ++k) {
    for (int j = 0; j < 32; ++j) {
      out.qs[k][j] = static_cast<uint8_t>(a.qs[k][j] ^ 0x80);
      out.qs[k][32 + j] = static_cast<uint8_t>(b.qs[k][j] ^ 0x80);
    }
  }
}

void MergeRows16(const BlockQ4_0x8& a, const BlockQ4_0x8& b,
                 BlockQ4_0x16& out) {
  MergeScales16(a.d, b.d, out.d);
  for (int m = 0; m < 4; ++m) {
    std::memcpy(out.qs[m], a.qs[m], 32);
    std::memcpy(out.qs[m] + 32, b.qs[m], 32);
  }
}

// The 16 rows' fp16 factors as floats.
FM_VNNI inline __m512 RowHalves16(const uint16_t* h) {
  return _mm512_cvtph_ps(Load32(h));
}

// The 8 vectors of a 16-row block as unsigned quants.
FM_VNNI inline void Vectors16(const BlockQ8_0x16& blk, __m512i (&w)[8]) {
  for (int k = 0; k < 8; ++k) w[k] = Load64(blk.qs[k]);
}

FM_VNNI inline void Vectors16(const BlockQ4_0x16& blk, __m512i (&w)[8]) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int m = 0; m < 4; ++m) {
    const __m512i q = Load64(blk.qs[m]);
    w[2 * m] = _mm512_and_si512(q, low4);
    w[2 * m + 1] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
  }
}

// The offset every quant of the type carries (its dots start at -offset *
// the block's activation sum, as in the 8-row kernels).
template <typename Block16>
constexpr int Offset16() {
  return std::is_same_v<Block16, BlockQ8_0x16> ? 128 : 8;
}

// The 16 rows' sums for NB inputs over one 16-row group: lane r = row r.
template <typename Block16, int NB>
FM_VNNI GroupSums512<NB> Group16(const Block16* blocks, int64_t nb,
                                 const Q8Activations& x, int64_t i0) {
  constexpr int kOffset = Offset16<Block16>();
  const Rows32Vnni<NB> in = RowsOf<NB>(x, nb, i0);
  GroupSums512<NB> acc;
  for (int n = 0; n < NB; ++n) acc.v[n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const Block16& blk = blocks[b];
    PrefetchAhead(&blk, sizeof(blk));
    __m512i w[8];
    Vectors16(blk, w);
    const __m512 d = RowHalves16(blk.d);
    for (int n = 0; n < NB; ++n) {
      const int8_t* xb = in.qs[n] + b * kQ8BlockSize;
      // Two chains of 4 (vpdpbusd's latency), added as integers.
      __m512i dot[2] = {_mm512_set1_epi32(-kOffset * in.sums[n][b]),
                        _mm512_setzero_si512()};
      for (int k = 0; k < 8; ++k) {
        dot[k % 2] = Dot(dot[k % 2], w[k], Activations4(xb, 4 * k));
      }
      acc.v[n] =
          AddScaled(acc.v[n], d, in.d[n][b], _mm512_add_epi32(dot[0], dot[1]));
    }
  }
  return acc;
}

// Stores rows [lo, hi) of a 16-row group's results for input i (lane r:
// the group's row r; the group starts at row `first`).
FM_VNNI inline void StoreRows16(__m512 v, int64_t first, int64_t lo, int64_t hi,
                                int64_t i, int64_t rows, float* out) {
  float* dst = out + i * rows + first;
  if (lo == 0 && hi == kRows16) {
    _mm512_storeu_ps(dst, v);
    return;
  }
  const __mmask16 keep =
      static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
  _mm512_mask_storeu_ps(dst, keep, v);
}

// Which row lanes Group<..., Block> leaves its sums in.
template <typename Block>
constexpr RowLanes LanesOf() {
  return BlockWeights<Block>() == kQkK ? RowLanes::kPacked : RowLanes::kEven;
}

template <int NB, typename Block, typename Inputs>
FM_VNNI GroupSums512<NB> Group(const Block* blocks, int64_t nb, const Inputs& x,
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

template <typename Block, typename Inputs>
struct VnniGroups {
  const Block* blocks;
  int64_t nb;  // blocks per row
  const Inputs& x;
  int64_t rows;
  float* out;

  template <int NB>
  FM_VNNI void operator()(Width<NB>, int64_t g, int64_t lo, int64_t hi,
                          int64_t i) const {
    const GroupSums512<NB> s = Group<NB>(blocks + g * nb, nb, x, i);
    for (int n = 0; n < NB; ++n) {
      StoreRows(FromRowLanes<LanesOf<Block>()>(s.v[n]), g, lo, hi, i + n, rows,
                out);
    }
  }
};

// Inputs i.. of one 16-row group g, kNB at a time while they last; returns
// the first input left. The odd last group (g == pairs) has 8 rows and
// takes the 8-row kernel.
template <typename Block8, int kNB>
FM_VNNI int64_t RunGroup16(const VnniGroups<Block8, Q8Activations>& eight,
                           int64_t pairs, int64_t g, int64_t lo, int64_t hi,
                           int64_t i) {
  using Block16 = Block16Of<Block8>;
  const auto* blocks16 = reinterpret_cast<const Block16*>(eight.blocks);
  for (; i + kNB <= eight.x.n; i += kNB) {
    if (g == pairs) {
      eight(Width<kNB>{}, 2 * g, lo, hi, i);
      continue;
    }
    const GroupSums512<kNB> sums =
        Group16<Block16, kNB>(blocks16 + g * eight.nb, eight.nb, eight.x, i);
    for (int n = 0; n < kNB; ++n) {
      StoreRows16(sums.v[n], g * kRows16, lo, hi, i + n, eight.rows, eight.out);
    }
  }
  return i;
}

// MatMulInterleaved over a matrix laid in 16-row groups (PairGroups): the
// 16-row kernel for each pair of 8-row groups that meets [row_begin,
// row_end), and the 8-row one for an odd last group, in batches of 8, 4,
// 2 and 1 inputs (as ForEachGroup).
template <typename Block8>
FM_VNNI void RunRows16(const void* packed, const Q8Activations& x, int64_t rows,
                       int64_t row_begin, int64_t row_end, float* out) {
  const int64_t pairs = (rows + kInterleave - 1) / kInterleave / 2;
  const VnniGroups<Block8, Q8Activations> eight{
      static_cast<const Block8*>(packed), x.cols / kQ8BlockSize, x, rows, out};
  for (int64_t g = row_begin / kRows16; g * kRows16 < row_end; ++g) {
    const int64_t lo = std::max<int64_t>(row_begin - g * kRows16, 0);
    const int64_t hi = std::min<int64_t>(row_end - g * kRows16, kRows16);
    int64_t i = RunGroup16<Block8, 8>(eight, pairs, g, lo, hi, 0);
    i = RunGroup16<Block8, 4>(eight, pairs, g, lo, hi, i);
    i = RunGroup16<Block8, 2>(eight, pairs, g, lo, hi, i);
    RunGroup16<Block8, 1>(eight, pairs, g, lo, hi, i);
  }
}

// One block's Q6_K quants from the InterleaveRows order (q[s]: qh bits
// 2c, 2c + 1 = vector 4s + c's top bits; ql[m] low and high nibbles =
// vectors 4s + 2m, + 1) into VnniQ6's.
void ReorderQ6(BlockQ6_Kx8& blk) {
  VnniQ6 out;
  for (int p = 0; p < 8; ++p) {
    for (int r = 0; r < kInterleave; ++r) {
      for (int c = 0; c < 2; ++c) {
        for (int i = 0; i < 4; ++i) {
          const int src = 4 * r + i;
          const int dst = 4 * (2 * r + c) + i;
          int top = 0;
          for (int h = 0; h < 2; ++h) {
            const auto& sub = blk.q[2 * p + h];
            // Vector 4s + c: ql[0] nibble c; vector 4s + 2 + c: ql[1]'s.
            const int low = (sub.ql[0][src] >> (4 * c)) & 0x0F;
            const int high = (sub.ql[1][src] >> (4 * c)) & 0x0F;
            out[p][h][dst] = static_cast<uint8_t>(low | (high << 4));
            top |= ((sub.qh[src] >> (2 * c)) & 3) << (4 * h);
            top |= ((sub.qh[src] >> (2 * (c + 2))) & 3) << (4 * h + 2);
          }
          out[p][2][dst] = static_cast<uint8_t>(top);
        }
      }
    }
  }
  std::memcpy(blk.q, out, sizeof(out));
}

// One block's Q8_0 quants from the InterleaveRows order (vector k's rows
// at qs[k]) into VnniQ8's.
void ReorderQ8(BlockQ8_0x8& blk) {
  VnniQ8 out;
  for (int m = 0; m < 4; ++m) {
    for (int r = 0; r < kInterleave; ++r) {
      for (int p = 0; p < 2; ++p) {
        for (int i = 0; i < 4; ++i) {
          out[m][4 * (2 * r + p) + i] =
              static_cast<uint8_t>(blk.qs[2 * m + p][4 * r + i] ^ 0x80);
        }
      }
    }
  }
  std::memcpy(blk.qs, out, sizeof(out));
}

// Re-lays an interleaved (rows, cols) matrix of 8-row blocks Block8 as
// 16-row groups (each two neighbouring groups' blocks, in their bytes);
// an odd last group stays 8 rows, re-ordered by `last`.
template <typename Block8, typename F>
void PairGroups(uint8_t* packed, int64_t rows, int64_t cols, F last) {
  using Block16 = Block16Of<Block8>;
  const int64_t groups = (rows + kInterleave - 1) / kInterleave;
  const int64_t nb = cols / kQ8BlockSize;
  auto* blocks = reinterpret_cast<Block8*>(packed);
  std::vector<Block16> merged(nb);
  for (int64_t pair = 0; pair < groups / 2; ++pair) {
    const Block8* a = blocks + 2 * pair * nb;
    const Block8* b = a + nb;
    for (int64_t k = 0; k < nb; ++k) MergeRows16(a[k], b[k], merged[k]);
    std::memcpy(blocks + 2 * pair * nb, merged.data(), nb * sizeof(Block16));
  }
  if (groups % 2 == 1) {
    for (int64_t k = 0; k < nb; ++k) last(blocks[(groups - 1) * nb + k]);
  }
}

// f(block) for every block of an interleaved (rows, cols) matrix.
template <typename Block, typename F>
void ForEachBlock(uint8_t* packed, int64_t rows, int64_t cols, F f) {
  const int64_t groups = (rows + kInterleave - 1) / kInterleave;
  auto* blocks = reinterpret_cast<Block*>(packed);
  for (int64_t k = 0; k < groups * (cols / BlockWeights<Block>()); ++k) {
    f(blocks[k]);
  }
}

// The 4-bit quants of a block: the K types' 8 sub-blocks or the 32-weight
// types' one.
template <typename Block>
void ReorderBlockNibbles(Block& blk) {
  if constexpr (BlockWeights<Block>() == kQkK) {
    for (auto& sub : blk.qs) ReorderNibbles(sub);
  } else {
    ReorderNibbles(blk.qs);
  }
}

}  // namespace

void ReorderForVnni(DType dtype, uint8_t* packed, int64_t rows, int64_t cols) {
  switch (dtype) {
    case DType::kQ8_0:
      return PairGroups<BlockQ8_0x8>(packed, rows, cols, ReorderQ8);
    case DType::kQ6_K:
      return ForEachBlock<BlockQ6_Kx8>(packed, rows, cols, ReorderQ6);
    case DType::kQ4_K:
      return ForEachBlock<BlockQ4_Kx8>(packed, rows, cols,
                                       ReorderBlockNibbles<BlockQ4_Kx8>);
    case DType::kQ5_K:
      return ForEachBlock<BlockQ5_Kx8>(packed, rows, cols,
                                       ReorderBlockNibbles<BlockQ5_Kx8>);
    case DType::kQ4_0:
      return PairGroups<BlockQ4_0x8>(packed, rows, cols,
                                     ReorderBlockNibbles<BlockQ4_0x8>);
    case DType::kQ4_1:
      return ForEachBlock<BlockQ4_1x8>(packed, rows, cols,
                                       ReorderBlockNibbles<BlockQ4_1x8>);
    case DType::kQ5_0:
      return ForEachBlock<BlockQ5_0x8>(packed, rows, cols,
                                       ReorderBlockNibbles<BlockQ5_0x8>);
    case DType::kQ5_1:
      return ForEachBlock<BlockQ5_1x8>(packed, rows, cols,
                                       ReorderBlockNibbles<BlockQ5_1x8>);
    default:  // Q3_K and Q2_K are read as laid
      return;
  }
}

bool HasInterleavedVnni() { return Cpu().avx512_vnni && Cpu().avx2_fma_f16c; }

void MatMulInterleavedVnni(DType dtype, const void* packed,
                           const Q8Activations& x32, const Q8KActivations& xk,
                           int64_t rows, int64_t row_begin, int64_t row_end,
                           float* out) {
  switch (dtype) {
    case DType::kQ8_0:
      return RunRows16<BlockQ8_0x8>(packed, x32, rows, row_begin, row_end, out);
    case DType::kQ4_0:
      return RunRows16<BlockQ4_0x8>(packed, x32, rows, row_begin, row_end, out);
    default:
      return RunInterleaved<VnniGroups, 8, 4, 2, 1>(
          dtype, packed, x32, xk, rows, row_begin, row_end, out);
  }
}

}  // namespace fm::model
