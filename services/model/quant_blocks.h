// ggml's quantized block layouts, byte for byte as GGUF stores them
// (ggml/src/ggml-common.h). All scales are IEEE half unless noted.
#ifndef FM_SERVICES_MODEL_QUANT_BLOCKS_H_
#define FM_SERVICES_MODEL_QUANT_BLOCKS_H_

#include <cstdint>

namespace fm::model {

inline constexpr int kQ8BlockSize = 32;  // weights per block of the _0/_1 types
inline constexpr int kQkK = 256;         // weights per super-block of the K types

#pragma pack(push, 1)
// value[j] = d * (nibble - 8); qs[j] holds element j (low) and j + 16 (high).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
// value[j] = d * nibble + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
};
// value[j] = d * ((nibble | high bit << 4) - 16); qh is a little-endian
// uint32 whose bit j is element j's fifth bit.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
// value[j] = d * (nibble | high bit << 4) + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
// value[j] = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQ8BlockSize];
};
// 16 sub-blocks of 16: scales[i] = 4-bit scale (low) | 4-bit min (high);
// value = d * scale * q - dmin * min, q the 2-bit quant.
struct BlockQ2_K {
  uint8_t scales[kQkK / 16];
  uint8_t qs[kQkK / 4];
  uint16_t d;
  uint16_t dmin;
};
// 16 sub-blocks of 16: 6-bit scales packed in 12 bytes (offset 32);
// value = d * (scale - 32) * (q - (high bit ? 0 : 4)), q the low 2 bits.
struct BlockQ3_K {
  uint8_t hmask[kQkK / 8];
  uint8_t qs[kQkK / 4];
  uint8_t scales[12];
  uint16_t d;
};
// 8 sub-blocks of 32: 6-bit scales and mins packed in 12 bytes;
// value = d * scale * q - dmin * min, q the 4-bit quant.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQkK / 2];
};
// As Q4_K with a fifth bit per weight in qh.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQkK / 8];
  uint8_t qs[kQkK / 2];
};
// 16 sub-blocks of 16 with int8 scales: value = d * scale * (q - 32), q the
// 6-bit quant (4 low bits in ql, 2 high bits in qh).
struct BlockQ6_K {
  uint8_t ql[kQkK / 2];
  uint8_t qh[kQkK / 4];
  int8_t scales[kQkK / 16];
  uint16_t d;
};
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block");
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block");
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block");
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block");

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block:
// j < 4 in the low 6 bits of bytes j / j + 4; j >= 4 split between the
// nibbles of byte j + 4 and the top two bits of bytes j - 4 / j.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* scale,
                       uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// The 6-bit scale of sub-block j (0..15) of a Q3_K block, offset by -32:
// the low 4 bits in bytes 0-7 (two per byte), the high 2 in bytes 8-11
// (four per byte).
inline int8_t ScaleQ3K(int j, const uint8_t* packed) {
  const uint8_t low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
  const uint8_t high = (packed[8 + (j % 4)] >> (2 * (j / 4))) & 3;
  return static_cast<int8_t>((low | (high << 4)) - 32);
}

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_QUANT_BLOCKS_H_
