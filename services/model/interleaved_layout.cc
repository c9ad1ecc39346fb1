// Re-laying quantized rows 8 at a time (scalar, once per matrix at load):
// see interleaved_layout.h for the layouts.
#include "services/model/interleaved_layout.h"

#include <cstring>
#include <type_traits>

#include "services/model/quant_blocks.h"

namespace fm::model {
namespace {

// The 256 quants of a Q4_K (0..15) or Q5_K (0..31, with the fifth bits)
// block and its 8 scales and minimums, as dequantize.cc reads them:
// weight 64g + l is the low nibble of qs[32g + l], 64g + 32 + l the high
// one; Q5_K's fifth bits are bits 2g and 2g + 1 of qh[l].
template <typename Block>
void UnpackQ45K(const Block& b, uint8_t q[kQkK], uint8_t sc[8], uint8_t mn[8]) {
  for (int g = 0; g < 4; ++g) {
    for (int l = 0; l < 32; ++l) {
      uint8_t lo = b.qs[32 * g + l] & 0xF;
      uint8_t hi = b.qs[32 * g + l] >> 4;
      if constexpr (std::is_same_v<Block, BlockQ5_K>) {
        lo |= ((b.qh[l] >> (2 * g)) & 1) << 4;
        hi |= ((b.qh[l] >> (2 * g + 1)) & 1) << 4;
      }
      q[64 * g + l] = lo;
      q[64 * g + 32 + l] = hi;
    }
  }
  for (int j = 0; j < 8; ++j) ScaleMinK4(j, b.scales, &sc[j], &mn[j]);
}

// The 256 quants of a Q6_K block (0..63, value offset by 32), as
// dequantize.cc's RowQ6_K reads them.
void UnpackQ6K(const BlockQ6_K& b, uint8_t q[kQkK]) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    uint8_t* o = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      o[l] = (ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4);
      o[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
      o[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
      o[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
    }
  }
}

// Byte 4r + i of vector k: weight 4k + i of row r.
inline int VectorByte(int r, int i) { return 4 * r + i; }

// Q4_K / Q5_K (Src) -> BlockQ4_Kx8 / BlockQ5_Kx8 (Dst).
template <typename Src, typename Dst>
void InterleaveQ45K(const Src* const rows[kInterleave], int64_t b, Dst* out) {
  for (int r = 0; r < kInterleave; ++r) {
    if (rows[r] == nullptr) continue;  // a padding row: zeros
    const Src& src = rows[r][b];
    uint8_t q[kQkK], sc[8], mn[8];
    UnpackQ45K(src, q, sc, mn);
    out->d[r] = src.d;
    out->dmin[r] = src.dmin;
    for (int j = 0; j < 8; ++j) {
      out->scales[j][r] = sc[j];
      out->mins[j / 2][r][j % 2] = mn[j];
      for (int t = 0; t < 4; ++t) {
        for (int i = 0; i < 4; ++i) {
          const uint8_t lo = q[32 * j + 8 * t + i];
          const uint8_t hi = q[32 * j + 8 * t + 4 + i];
          const int byte = VectorByte(r, i);
          out->qs[j][t][byte] =
              static_cast<uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
          if constexpr (std::is_same_v<Src, BlockQ5_K>) {
            out->qh[j][byte] |= static_cast<uint8_t>((lo >> 4) << (2 * t) |
                                                     (hi >> 4) << (2 * t + 1));
          }
        }
      }
    }
  }
}

void InterleaveQ6K(const BlockQ6_K* const rows[kInterleave], int64_t b,
                   BlockQ6_Kx8* out) {
  uint8_t q[kInterleave][kQkK];
  for (int r = 0; r < kInterleave; ++r) {
    if (rows[r] == nullptr) continue;
    const BlockQ6_K& src = rows[r][b];
    UnpackQ6K(src, q[r]);
    out->d[r] = src.d;
    for (int s = 0; s < 16; ++s) out->scales[s / 2][r][s % 2] = src.scales[s];
  }
  // Each output byte whole from its four weights (vector 4s + c holds
  // weight 16s + 4c + i of row r at byte 4r + i): a load of a 7B model
  // re-lays ~3e9 of them.
  for (int s = 0; s < 16; ++s) {
    auto& sub = out->q[s];
    for (int r = 0; r < kInterleave; ++r) {
      if (rows[r] == nullptr) continue;
      for (int i = 0; i < 4; ++i) {
        const uint8_t* v = q[r] + 16 * s + i;  // v[4c]: vector 4s + c
        const int byte = VectorByte(r, i);
        sub.qh[byte] =
            static_cast<uint8_t>((v[0] >> 4) | (v[4] >> 4) << 2 |
                                 (v[8] >> 4) << 4 | (v[12] >> 4) << 6);
        sub.ql[0][byte] =
            static_cast<uint8_t>((v[0] & 0xF) | (v[4] & 0xF) << 4);
        sub.ql[1][byte] =
            static_cast<uint8_t>((v[8] & 0xF) | (v[12] & 0xF) << 4);
      }
    }
  }
}

void InterleaveQ8_0(const BlockQ8_0* const rows[kInterleave], int64_t b,
                    BlockQ8_0x8* out) {
  for (int r = 0; r < kInterleave; ++r) {
    if (rows[r] == nullptr) continue;
    const BlockQ8_0& src = rows[r][b];
    out->d[r] = src.d;
    for (int k = 0; k < 8; ++k) {
      for (int i = 0; i < 4; ++i)
        out->qs[k][VectorByte(r, i)] = src.qs[4 * k + i];
    }
  }
}

// The 256 quants of a Q3_K block (0..7: low 2 bits | hmask bit << 2) and
// its 16 scales (offset by -32), as dequantize.cc's RowQ3_K reads them.
void UnpackQ3K(const BlockQ3_K& b, uint8_t q[kQkK], int8_t sc[16]) {
  for (int j = 0; j < 16; ++j) sc[j] = ScaleQ3K(j, b.scales);
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) {
      for (int half = 0; half < 2; ++half) {
        for (int l = 0; l < 16; ++l) {
          const int w = 128 * h + 32 * j + 16 * half + l;
          const uint8_t low2 = (b.qs[32 * h + 16 * half + l] >> (2 * j)) & 3;
          const uint8_t bit = (b.hmask[16 * half + l] >> (4 * h + j)) & 1;
          q[w] = static_cast<uint8_t>(low2 | bit << 2);
        }
      }
    }
  }
}

void InterleaveQ3K(const BlockQ3_K* const rows[kInterleave], int64_t b,
                   BlockQ3_Kx8* out) {
  for (int r = 0; r < kInterleave; ++r) {
    if (rows[r] == nullptr) continue;
    const BlockQ3_K& src = rows[r][b];
    uint8_t q[kQkK];
    int8_t sc[16];
    UnpackQ3K(src, q, sc);
    out->d[r] = src.d;
    for (int s = 0; s < 16; ++s) {
      out->scales[s / 2][r][s % 2] = sc[s];
      auto& pair = out->q[s / 2];
      for (int c = 0; c < 4; ++c) {
        for (int i = 0; i < 4; ++i) {
          const uint8_t v = q[16 * s + 4 * c + i];
          const int byte = VectorByte(r, i);
          pair.ql[s % 2][byte] |= static_cast<uint8_t>((v & 3) << (2 * c));
          pair.qh[byte] |= static_cast<uint8_t>((v >> 2) << (4 * (s % 2) + c));
        }
      }
    }
  }
}

// Q2_K: weight 128h + 32j + 16half + l is bits 2j, 2j + 1 of
// qs[32h + 16half + l]; sub-block s = weight / 16 has scales[s].
void InterleaveQ2K(const BlockQ2_K* const rows[kInterleave], int64_t b,
                   BlockQ2_Kx8* out) {
  for (int r = 0; r < kInterleave; ++r) {
    if (rows[r] == nullptr) continue;
    const BlockQ2_K& src = rows[r][b];
    out->d[r] = src.d;
    out->dmin[r] = src.dmin;
    for (int s = 0; s < 16; ++s) {
      out->scales[s / 2][r][s % 2] = src.scales[s];
      for (int c = 0; c < 4; ++c) {
        for (int i = 0; i < 4; ++i) {
          const int w = 16 * s + 4 * c + i;
          const int h = w / 128, j = (w % 128) / 32, rest = w % 32;
          const uint8_t v = (src.qs[32 * h + rest] >> (2 * j)) & 3;
          out->qs[s][VectorByte(r, i)] |= static_cast<uint8_t>(v << (2 * c));
        }
      }
    }
  }
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1 (Src) -> their x8 block (Dst): weight j's low
// 4 bits in byte j % 16 (the low nibble for j < 16), Q5's fifth bit at bit
// j of the little-endian qh; the _1 types' minimum m beside d.
template <typename Src, typename Dst>
void InterleaveNibbles32(const Src* const rows[kInterleave], int64_t b,
                         Dst* out) {
  constexpr bool kFive =
      std::is_same_v<Src, BlockQ5_0> || std::is_same_v<Src, BlockQ5_1>;
  for (int r = 0; r < kInterleave; ++r) {
    if (rows[r] == nullptr) continue;
    const Src& src = rows[r][b];
    out->d[r] = src.d;
    if constexpr (std::is_same_v<Src, BlockQ4_1> ||
                  std::is_same_v<Src, BlockQ5_1>) {
      out->m[r] = src.m;
    }
    uint32_t qh = 0;
    if constexpr (kFive) std::memcpy(&qh, src.qh, 4);
    for (int k = 0; k < 8; ++k) {
      for (int i = 0; i < 4; ++i) {
        const int w = 4 * k + i;
        const uint8_t low4 = w < 16 ? src.qs[w] & 0xF : src.qs[w - 16] >> 4;
        const int byte = VectorByte(r, i);
        out->qs[k / 2][byte] |= static_cast<uint8_t>(low4 << (4 * (k % 2)));
        if constexpr (kFive) {
          out->qh[byte] |= static_cast<uint8_t>(((qh >> w) & 1) << k);
        }
      }
    }
  }
}

template <typename Src, typename Dst, int kBlockWeights, typename Fn>
void InterleaveAll(const void* w, int64_t rows, int64_t cols, uint8_t* out,
                   Fn interleave_block) {
  const int64_t nb = cols / kBlockWeights;
  const int64_t groups = (rows + kInterleave - 1) / kInterleave;
  const auto* src = static_cast<const Src*>(w);
  auto* dst = reinterpret_cast<Dst*>(out);
  for (int64_t g = 0; g < groups; ++g) {
    const Src* group_rows[kInterleave];
    for (int r = 0; r < kInterleave; ++r) {
      const int64_t row = g * kInterleave + r;
      group_rows[r] = row < rows ? src + row * nb : nullptr;
    }
    for (int64_t b = 0; b < nb; ++b) {
      interleave_block(group_rows, b, dst + g * nb + b);
    }
  }
}

}  // namespace

int64_t InterleavedBytes(DType dtype, int64_t rows, int64_t cols) {
  const int64_t groups = (rows + kInterleave - 1) / kInterleave;
  switch (dtype) {
    case DType::kQ4_K:
      return groups * (cols / kQkK) * static_cast<int64_t>(sizeof(BlockQ4_Kx8));
    case DType::kQ6_K:
      return groups * (cols / kQkK) * static_cast<int64_t>(sizeof(BlockQ6_Kx8));
    case DType::kQ5_K:
      return groups * (cols / kQkK) * static_cast<int64_t>(sizeof(BlockQ5_Kx8));
    case DType::kQ3_K:
      return groups * (cols / kQkK) * static_cast<int64_t>(sizeof(BlockQ3_Kx8));
    case DType::kQ2_K:
      return groups * (cols / kQkK) * static_cast<int64_t>(sizeof(BlockQ2_Kx8));
    case DType::kQ5_0:
      return groups * (cols / kQ8BlockSize) *
             static_cast<int64_t>(sizeof(BlockQ5_0x8));
    case DType::kQ4_1:
      return groups * (cols / kQ8BlockSize) *
             static_cast<int64_t>(sizeof(BlockQ4_1x8));
    case DType::kQ5_1:
      return groups * (cols / kQ8BlockSize) *
             static_cast<int64_t>(sizeof(BlockQ5_1x8));
    case DType::kQ8_0:
      return groups * (cols / kQ8BlockSize) *
             static_cast<int64_t>(sizeof(BlockQ8_0x8));
    case DType::kQ4_0:
      return groups * (cols / kQ8BlockSize) *
             static_cast<int64_t>(sizeof(BlockQ4_0x8));
    default:
      return 0;
  }
}

void InterleaveRows(DType dtype, const void* w, int64_t rows, int64_t cols,
                    uint8_t* out) {
  switch (dtype) {
    case DType::kQ4_K:
      return InterleaveAll<BlockQ4_K, BlockQ4_Kx8, kQkK>(
          w, rows, cols, out, InterleaveQ45K<BlockQ4_K, BlockQ4_Kx8>);
    case DType::kQ6_K:
      return InterleaveAll<BlockQ6_K, BlockQ6_Kx8, kQkK>(w, rows, cols, out,
                                                         InterleaveQ6K);
    case DType::kQ5_K:
      return InterleaveAll<BlockQ5_K, BlockQ5_Kx8, kQkK>(
          w, rows, cols, out, InterleaveQ45K<BlockQ5_K, BlockQ5_Kx8>);
    case DType::kQ3_K:
      return InterleaveAll<BlockQ3_K, BlockQ3_Kx8, kQkK>(w, rows, cols, out,
                                                         InterleaveQ3K);
    case DType::kQ2_K:
      return InterleaveAll<BlockQ2_K, BlockQ2_Kx8, kQkK>(w, rows, cols, out,
                                                         InterleaveQ2K);
    case DType::kQ5_0:
      return InterleaveAll<BlockQ5_0, BlockQ5_0x8, kQ8BlockSize>(
          w, rows, cols, out, InterleaveNibbles32<BlockQ5_0, BlockQ5_0x8>);
    case DType::kQ4_1:
      return InterleaveAll<BlockQ4_1, BlockQ4_1x8, kQ8BlockSize>(
          w, rows, cols, out, InterleaveNibbles32<BlockQ4_1, BlockQ4_1x8>);
    case DType::kQ5_1:
      return InterleaveAll<BlockQ5_1, BlockQ5_1x8, kQ8BlockSize>(
          w, rows, cols, out, InterleaveNibbles32<BlockQ5_1, BlockQ5_1x8>);
    case DType::kQ8_0:
      return InterleaveAll<BlockQ8_0, BlockQ8_0x8, kQ8BlockSize>(
          w, rows, cols, out, InterleaveQ8_0);
    case DType::kQ4_0:
      return InterleaveAll<BlockQ4_0, BlockQ4_0x8, kQ8BlockSize>(
          w, rows, cols, out, InterleaveNibbles32<BlockQ4_0, BlockQ4_0x8>);
    default:
      return;  // callers check HasInterleavedKernel first
  }
}

}  // namespace fm::model
