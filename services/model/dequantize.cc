// One function per block format; DequantizeRow dispatches on the DType.
#include "services/model/dequantize.h"

#include <cstring>

#include "common/half.h"
#include "services/model/quant_blocks.h"

namespace fm::model {
namespace {

void RowQ4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
      y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void RowQ4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = F16ToF32(b[i].d);
    const float m = F16ToF32(b[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(b[i].qs[j] & 0xF) * d + m;
      y[j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}

// Element j's and j + 16's fifth bits, moved to bit 4.
inline uint32_t HighBitLow(uint32_t qh, int j) { return ((qh >> j) << 4) & 0x10; }
inline uint32_t HighBitHigh(uint32_t qh, int j) { return (qh >> (j + 12)) & 0x10; }

void RowQ5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = F16ToF32(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, sizeof(qh));
    for (int j = 0; j < 16; ++j) {
      const int32_t x0 =
          static_cast<int32_t>((b[i].qs[j] & 0xF) | HighBitLow(qh, j)) - 16;
      const int32_t x1 =
          static_cast<int32_t>((b[i].qs[j] >> 4) | HighBitHigh(qh, j)) - 16;
      y[j] = static_cast<float>(x0) * d;
      y[j + 16] = static_cast<float>(x1) * d;
    }
  }
}

void RowQ5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = F16ToF32(b[i].d);
    const float m = F16ToF32(b[i].m);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, sizeof(qh));
    for (int j = 0; j < 16; ++j) {
      const uint32_t x0 = (b[i].qs[j] & 0xF) | HighBitLow(qh, j);
      const uint32_t x1 = (b[i].qs[j] >> 4) | HighBitHigh(qh, j);
      y[j] = static_cast<float>(x0) * d + m;
      y[j + 16] = static_cast<float>(x1) * d + m;
    }
  }
}

void RowQ8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void RowQ2_K(const BlockQ2_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const float min = F16ToF32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    int is = 0;
    // Two halves of 128; in each, four 2-bit planes of 32 quants, each
    // plane two sub-blocks of 16 with their own scale and min.
    for (int n = 0; n < kQkK; n += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b[i].scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = min * static_cast<float>(sc >> 4);
          const uint8_t* qq = q + 16 * half;
          for (int l = 0; l < 16; ++l) {
            *y++ = dl * static_cast<float>((qq[l] >> shift) & 3) - ml;
          }
        }
      }
    }
  }
}

void RowQ3_K(const BlockQ3_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d_all = F16ToF32(b[i].d);
    int8_t scales[16];
    for (int j = 0; j < 16; ++j) scales[j] = ScaleQ3K(j, b[i].scales);
    const uint8_t* q = b[i].qs;
    const uint8_t* hm = b[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < kQkK; n += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * static_cast<float>(scales[is++]);
          const uint8_t* qq = q + 16 * half;
          const uint8_t* hh = hm + 16 * half;
          for (int l = 0; l < 16; ++l) {
            const int8_t v = static_cast<int8_t>(((qq[l] >> shift) & 3) -
                                                 ((hh[l] & m) ? 0 : 4));
            *y++ = dl * static_cast<float>(v);
          }
        }
      }
    }
  }
}

void RowQ4_K(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const float min = F16ToF32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int is = 0; is < 8; is += 2, q += 32) {
      uint8_t sc, m;
      ScaleMinK4(is, b[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      ScaleMinK4(is + 1, b[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void RowQ5_K(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const float min = F16ToF32(b[i].dmin);
    const uint8_t* ql = b[i].qs;
    const uint8_t* qh = b[i].qh;
    uint8_t u1 = 1, u2 = 2;
    for (int is = 0; is < 8; is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
      uint8_t sc, m;
      ScaleMinK4(is, b[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      ScaleMinK4(is + 1, b[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) {
        *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      }
    }
  }
}

void RowQ6_K(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    // Two halves of 128: 64 bytes of low nibbles and 32 of high bit pairs
    // give four groups of 32 quants, scales per 16.
    for (int n = 0; n < kQkK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int8_t q1 = static_cast<int8_t>(
            ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        const int8_t q2 = static_cast<int8_t>(
            ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        const int8_t q3 = static_cast<int8_t>(
            ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        const int8_t q4 = static_cast<int8_t>(
            ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void RowBF16(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(x[i]) << 16;
    std::memcpy(&y[i], &bits, sizeof(float));
  }
}

template <typename Block>
const Block* As(const void* data) {
  return static_cast<const Block*>(data);
}

}  // namespace

void DequantizeRow(DType dtype, const void* data, float* out, int64_t n) {
  const int64_t nb = n / DTypeBlockElements(dtype);
  switch (dtype) {
    case DType::kF32:
      std::memcpy(out, data, sizeof(float) * n);
      return;
    case DType::kF16:
      F16ToF32Row(As<uint16_t>(data), out, n);
      return;
    case DType::kBF16:
      RowBF16(As<uint16_t>(data), out, n);
      return;
    case DType::kQ4_0:
      return RowQ4_0(As<BlockQ4_0>(data), out, nb);
    case DType::kQ4_1:
      return RowQ4_1(As<BlockQ4_1>(data), out, nb);
    case DType::kQ5_0:
      return RowQ5_0(As<BlockQ5_0>(data), out, nb);
    case DType::kQ5_1:
      return RowQ5_1(As<BlockQ5_1>(data), out, nb);
    case DType::kQ8_0:
      return RowQ8_0(As<BlockQ8_0>(data), out, nb);
    case DType::kQ2_K:
      return RowQ2_K(As<BlockQ2_K>(data), out, nb);
    case DType::kQ3_K:
      return RowQ3_K(As<BlockQ3_K>(data), out, nb);
    case DType::kQ4_K:
      return RowQ4_K(As<BlockQ4_K>(data), out, nb);
    case DType::kQ5_K:
      return RowQ5_K(As<BlockQ5_K>(data), out, nb);
    case DType::kQ6_K:
      return RowQ6_K(As<BlockQ6_K>(data), out, nb);
  }
}

}  // namespace fm::model
