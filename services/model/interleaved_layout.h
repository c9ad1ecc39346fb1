// Quantized weights re-laid at load as groups of 8 rows interleaved 4
// weights at a time (every integer type: Q2_K ... Q6_K, Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1): the
// layouts and the re-lay (interleaved_matmul.h multiplies them). In ggml's
// layout a decode product takes one weight row at a time: every 32 weights
// cost an unpack, a maddubs, a scale multiply and an add, and each row ends
// in a horizontal sum. Interleaved, one 32-byte vector holds 4 weights of
// each of 8 rows: maddubs against 4 broadcast activations gives 8 rows'
// partial dots at once, a whole sub-block's partial dots add up in int16
// before the single scale multiply, and the 8 rows' results come out as
// the 8 lanes of one register. Measured with bench/model/kernel_bench (one
// thread, in L2): 2-5x the row kernels' rate.
//
// The same bytes as ggml's blocks for Q2_K, Q6_K and the 32-weight types;
// Q3_K, Q4_K and Q5_K grow by 4 bytes per 256 weights (110 -> 114,
// 144 -> 148, 176 -> 180: 6-bit scales one byte each), which is paid back
// by not decoding the 6-bit packing per row.
#ifndef FM_SERVICES_MODEL_INTERLEAVED_LAYOUT_H_
#define FM_SERVICES_MODEL_INTERLEAVED_LAYOUT_H_

#include <cstdint>

#include "services/model/dtype.h"

namespace fm::model {

inline constexpr int kInterleave = 8;  // rows per interleaved group

// Vector k (0..63) of a super-block below means weights 4k..4k+3 of each of
// the group's 8 rows: 32 bytes, row r's 4 weights at bytes 4r..4r+3.

// One super-block (256 weights) of 8 Q4_K rows. value = d[r] * scale * q -
// dmin[r] * min, as ggml's Q4_K.
struct BlockQ4_Kx8 {
  uint16_t d[kInterleave];          // fp16, per row
  uint16_t dmin[kInterleave];       // fp16, per row
  uint8_t scales[8][kInterleave];   // [sub-block j of 32][row]: 0..63
  uint8_t mins[4][kInterleave][2];  // [j / 2][row][j % 2]: 0..63
  // [j][t]: low nibbles = vector 8j + 2t (weights 32j + 8t + 0..3), high
  // nibbles = vector 8j + 2t + 1 (32j + 8t + 4..7). On an AVX-512 VNNI CPU
  // a model re-orders these 1024 bytes once more (ReorderForVnni).
  uint8_t qs[8][4][32];
};
static_assert(sizeof(BlockQ4_Kx8) == 1184, "Q4_K x8 block");

// One super-block of 8 Q6_K rows: value = d[r] * scale * (q - 32), q 6-bit.
struct BlockQ6_Kx8 {
  uint16_t d[kInterleave];           // fp16, per row
  int8_t scales[8][kInterleave][2];  // [s / 2][row][s % 2], s of 16
  // Sub-block s's vectors 4s..4s+3, their bytes together so that the
  // kernel reads the block front to back: qh = their high 2 bits (vector
  // 4s + c in bits 2c, 2c + 1), ql[m] = low 4 bits of vectors 4s + 2m (low
  // nibbles) and 4s + 2m + 1 (high nibbles).
  struct {
    uint8_t qh[32];
    uint8_t ql[2][32];
  } q[16];  // a model on an AVX-512 VNNI CPU re-orders these (ReorderForVnni)
};
static_assert(sizeof(BlockQ6_Kx8) == 8 * 210, "Q6_K x8 block");

// One super-block of 8 Q3_K rows: value = d[r] * scale * (q - 4), q the
// 3-bit quant (its 2 low bits and its hmask bit), scale = ggml's 6-bit
// value - 32.
struct BlockQ3_Kx8 {
  uint16_t d[kInterleave];           // fp16, per row
  int8_t scales[8][kInterleave][2];  // [s / 2][row][s % 2], s of 16
  // Sub-blocks 2p and 2p + 1 (vectors 8p..8p+7): qh bit k = the third bit
  // of vector 8p + k; ql[h] bits 2c, 2c + 1 = the low 2 bits of vector
  // 8p + 4h + c.
  struct {
    uint8_t qh[32];
    uint8_t ql[2][32];
  } q[8];
};
static_assert(sizeof(BlockQ3_Kx8) == 912, "Q3_K x8 block");

// One super-block of 8 Q2_K rows: value = d[r] * scale * q - dmin[r] * min
// over sub-blocks of 16, q 2-bit.
struct BlockQ2_Kx8 {
  uint16_t d[kInterleave];     // fp16, per row
  uint16_t dmin[kInterleave];  // fp16, per row
  // [s / 2][row][s % 2]: scale (low nibble) | min << 4, as ggml packs them.
  uint8_t scales[8][kInterleave][2];
  uint8_t qs[16][32];  // [s]: vector 4s + c in bits 2c, 2c + 1
};
static_assert(sizeof(BlockQ2_Kx8) == 8 * 84, "Q2_K x8 block");

// One block (32 weights) of 8 Q8_0 rows: value = d[r] * q.
struct BlockQ8_0x8 {
  uint16_t d[kInterleave];  // fp16, per row
  int8_t qs[8][32];         // [k]: vector k (weights 4k..4k+3)
};
static_assert(sizeof(BlockQ8_0x8) == 8 * 34, "Q8_0 x8 block");

// One block of 8 Q4_0 rows: value = d[r] * (q - 8), q 4-bit.
struct BlockQ4_0x8 {
  uint16_t d[kInterleave];  // fp16, per row
  // [m]: vector 2m in the low nibbles, 2m + 1 high (re-ordered on an
  // AVX-512 VNNI CPU: ReorderForVnni)
  uint8_t qs[4][32];
};
static_assert(sizeof(BlockQ4_0x8) == 8 * 18, "Q4_0 x8 block");

// One super-block of 8 Q5_K rows: Q4_K's layout plus the fifth bits.
struct BlockQ5_Kx8 {
  uint16_t d[kInterleave];
  uint16_t dmin[kInterleave];
  uint8_t scales[8][kInterleave];
  uint8_t mins[4][kInterleave][2];
  uint8_t qh[8][32];     // [j]: bit k = fifth bit of vector 8j + k
  uint8_t qs[8][4][32];  // as BlockQ4_Kx8's
};
static_assert(sizeof(BlockQ5_Kx8) == 1440, "Q5_K x8 block");

// One block of 8 Q5_0 rows: value = d[r] * (q - 16), q 5-bit.
struct BlockQ5_0x8 {
  uint16_t d[kInterleave];
  uint8_t qh[32];     // bit k = fifth bit of vector k
  uint8_t qs[4][32];  // as BlockQ4_0x8's
};
static_assert(sizeof(BlockQ5_0x8) == 8 * 22, "Q5_0 x8 block");

// One block of 8 Q4_1 rows: value = d[r] * q + m[r], q 4-bit.
struct BlockQ4_1x8 {
  uint16_t d[kInterleave];
  uint16_t m[kInterleave];
  uint8_t qs[4][32];  // as BlockQ4_0x8's
};
static_assert(sizeof(BlockQ4_1x8) == 8 * 20, "Q4_1 x8 block");

// One block of 8 Q5_1 rows: value = d[r] * q + m[r], q 5-bit.
struct BlockQ5_1x8 {
  uint16_t d[kInterleave];
  uint16_t m[kInterleave];
  uint8_t qh[32];     // as BlockQ5_0x8's
  uint8_t qs[4][32];  // as BlockQ4_0x8's
};
static_assert(sizeof(BlockQ5_1x8) == 8 * 24, "Q5_1 x8 block");

// Bytes of the interleaved copy of a (rows, cols) matrix of `dtype`.
int64_t InterleavedBytes(DType dtype, int64_t rows, int64_t cols);

// Writes the interleaved copy of W (rows, cols) in ggml's `dtype` layout
// (cols a multiple of the block size) to `out` (InterleavedBytes of zeroed
// memory): ceil(rows / 8) groups, each its blocks in order; the rows past
// `rows` in the last group stay zeros.
void InterleaveRows(DType dtype, const void* w, int64_t rows, int64_t cols,
                    uint8_t* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_INTERLEAVED_LAYOUT_H_
