// Scalar reference for ggml's number formats; see the header. Written from
// the block definitions in ggml/src/ggml-common.h and the reference
// quantizers in ggml/src/ggml-quants.c (llama.cpp), not from the service's
// code.
//
// The quantizers have to reproduce ggml's bytes exactly, so every float
// expression below keeps ggml's operand order and int/float conversions
// (an `int * float` in ggml is `static_cast<float>(int) * float` here), and
// floating-point contraction is switched off so that no compiler fuses a
// multiply and an add into one rounding.
#include "tests/model/ggml_quant_reference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// No fused multiply-add anywhere below: with -mfma / -march=native (or on
// aarch64) GCC contracts by default and the bytes would stop matching.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace fm::model::testing {
namespace {

// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is
// treated as all zero by make_qx_quants / make_q3_quants / Q6_K.
constexpr float kGroupMaxEps = 1e-15f;

// Elements of a K-quant super-block.
constexpr int kQK = 256;

[[noreturn]] void Fail(const char* what, GgmlType t) {
  std::fprintf(stderr, "ggml_quant_reference: %s (ggml type %u)\n", what,
               static_cast<unsigned>(t));
  std::abort();
}

// ------------------------------------------------------------------------
// Bits, bytes and the 16-bit float formats.

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// IEEE binary16 (1 sign, 5 exponent bits with bias 15, 10 mantissa bits)
// to binary32; exact for every input.
float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return BitsFloat(sign | 0x7F800000u | mant << 13);
  if (exp != 0) return BitsFloat(sign | (exp + 112) << 23 | mant << 13);
  // Zero or subnormal: mant * 2^-24, exactly representable in binary32.
  const float mag = static_cast<float>(mant) * 0x1p-24f;
  return sign ? -mag : mag;
}

// binary32 to binary16, rounding to nearest even; overflow (|f| >= 65520)
// gives infinity, and every NaN the quiet NaN 0x7E00 with f's sign, as
// GGML_FP32_TO_FP16.
uint16_t F32ToF16(float f) {
  const uint32_t bits = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return sign | 0x7E00u;
  if (abs >= 0x477FF000u) return sign | 0x7C00u;  // 65520: halfway to 2^16
  if (abs >= 0x38800000u) {                       // >= 2^-14: a normal half
    const uint32_t rebiased = abs - (112u << 23);
    uint32_t h = rebiased >> 13;
    const uint32_t rest = rebiased & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // A subnormal half counts units of 2^-24. f = mant * 2^(e - 150) with
  // e its biased exponent, so f / 2^-24 = mant >> (126 - e); below 2^-25
  // (e < 102) everything rounds to zero (2^-25 itself ties to even, 0).
  const uint32_t e = abs >> 23;
  if (e < 102) return sign;
  const uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126 - e;  // 14 ... 24
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

// bfloat16 is the top half of a binary32.
float Bf16ToF32(uint16_t h) {
  return BitsFloat(static_cast<uint32_t>(h) << 16);
}

// Round to nearest even; a NaN keeps its top bits and is made quiet, as
// GGML_FP32_TO_BF16.
uint16_t F32ToBf16(float f) {
  const uint32_t bits = FloatBits(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x40u);
  }
  uint32_t upper = bits >> 16;
  const uint32_t rest = bits & 0xFFFFu;
  if (rest > 0x8000u || (rest == 0x8000u && (upper & 1u))) ++upper;
  return static_cast<uint16_t>(upper);
}

// The float a ggml_half field at p holds.
float Half(const uint8_t* p) { return F16ToF32(Get16(p)); }

// ggml's nearest_int: round to nearest, ties to even (ggml adds 1.5 * 2^23
// and reads the mantissa, which is exactly that for |v| < 2^22).
int NearestInt(float v) { return static_cast<int>(std::nearbyint(v)); }

// C's (int) conversion of a float (truncation toward zero), made total:
// NaN and out-of-range values, never produced for finite ggml inputs, are
// clamped instead of being undefined behaviour.
int TruncToInt(float v) {
  if (!(v > -2147483520.0f)) return v == v ? INT32_MIN + 128 : 0;
  if (!(v < 2147483520.0f)) return INT32_MAX - 127;
  return static_cast<int>(v);
}

int Clamp(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

// The element of largest magnitude (the first such, on ties), 0 if all are
// zero: the signed "max" of Q4_0, Q5_0, make_qx_quants and make_q3_quants.
float SignedAbsMax(const float* x, int n, float* amax_out) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax_out != nullptr) *amax_out = amax;
  return max;
}

// ------------------------------------------------------------------------
// Scalar formats: one element per "block".

void QuantizeF32(const float* x, uint8_t* b) { Put32(b, FloatBits(x[0])); }
float DequantF32(const uint8_t* b, int) { return BitsFloat(Get32(b)); }

void QuantizeF16(const float* x, uint8_t* b) { Put16(b, F32ToF16(x[0])); }
float DequantF16(const uint8_t* b, int) { return Half(b); }

void QuantizeBf16(const float* x, uint8_t* b) { Put16(b, F32ToBf16(x[0])); }
float DequantBf16(const uint8_t* b, int) { return Bf16ToF32(Get16(b)); }

// ------------------------------------------------------------------------
// Q4_0: 32 elements in 18 bytes.
//   [0, 2)   d   fp16 scale
//   [2, 18)  qs  16 bytes: element j < 16 is the low nibble of qs[j],
//                element j + 16 the high nibble of qs[j]
//   y = (q - 8) * d,  q in [0, 15]
// Quantizer: d = m / -8 with m the element of largest magnitude, so m
// itself is q = 0; q = min(15, trunc(x / d + 8.5)) using 1 / (unrounded d).

void QuantizeQ4_0(const float* x, uint8_t* b) {
  const float max = SignedAbsMax(x, 32, nullptr);
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  Put16(b, F32ToF16(d));
  for (int j = 0; j < 16; ++j) {
    const int q0 = std::min(15, TruncToInt(x[j] * id + 8.5f));
    const int q1 = std::min(15, TruncToInt(x[j + 16] * id + 8.5f));
    b[2 + j] = static_cast<uint8_t>(q0 | q1 << 4);
  }
}

float DequantQ4_0(const uint8_t* b, int e) {
  const uint8_t byte = b[2 + e % 16];
  const int q = e < 16 ? (byte & 0xF) : (byte >> 4);
  return static_cast<float>(q - 8) * Half(b);
}

// ------------------------------------------------------------------------
// Q4_1: 32 elements in 20 bytes.
//   [0, 2)   d   fp16 scale
//   [2, 4)   m   fp16 minimum
//   [4, 20)  qs  nibbles as in Q4_0
//   y = q * d + m,  q in [0, 15]
// Quantizer: m = min(x), d = (max(x) - min(x)) / 15,
// q = min(15, trunc((x - min) / d + 0.5)).

void QuantizeQ4_1(const float* x, uint8_t* b) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / 15.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  Put16(b, F32ToF16(d));
  Put16(b + 2, F32ToF16(min));
  for (int j = 0; j < 16; ++j) {
    const int q0 = std::min(15, TruncToInt((x[j] - min) * id + 0.5f));
    const int q1 = std::min(15, TruncToInt((x[j + 16] - min) * id + 0.5f));
    b[4 + j] = static_cast<uint8_t>(q0 | q1 << 4);
  }
}

float DequantQ4_1(const uint8_t* b, int e) {
  const uint8_t byte = b[4 + e % 16];
  const int q = e < 16 ? (byte & 0xF) : (byte >> 4);
  return static_cast<float>(q) * Half(b) + Half(b + 2);
}

// ------------------------------------------------------------------------
// Q5_0: 32 elements in 22 bytes.
//   [0, 2)   d   fp16 scale
//   [2, 6)   qh  a little-endian uint32: bit j is bit 4 of element j
//   [6, 22)  qs  the low 4 bits of each element, nibbles as in Q4_0
//   y = (q - 16) * d,  q in [0, 31]
// Quantizer: d = m / -16 (m of largest magnitude),
// q = min(31, trunc(x / d + 16.5)).

void QuantizeQ5_0(const float* x, uint8_t* b) {
  const float max = SignedAbsMax(x, 32, nullptr);
  const float d = max / -16.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  Put16(b, F32ToF16(d));
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const uint8_t q0 =
        static_cast<uint8_t>(std::min(31, TruncToInt(x[j] * id + 16.5f)));
    const uint8_t q1 =
        static_cast<uint8_t>(std::min(31, TruncToInt(x[j + 16] * id + 16.5f)));
    b[6 + j] = static_cast<uint8_t>((q0 & 0xF) | (q1 & 0xF) << 4);
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  Put32(b + 2, qh);
}

float DequantQ5_0(const uint8_t* b, int e) {
  const uint8_t byte = b[6 + e % 16];
  const int lo = e < 16 ? (byte & 0xF) : (byte >> 4);
  const int hi = static_cast<int>((Get32(b + 2) >> e) & 1u);
  return static_cast<float>((lo | hi << 4) - 16) * Half(b);
}

// ------------------------------------------------------------------------
// Q5_1: 32 elements in 24 bytes.
//   [0, 2)   d   fp16 scale
//   [2, 4)   m   fp16 minimum
//   [4, 8)   qh  little-endian uint32, bit j = bit 4 of element j
//   [8, 24)  qs  low 4 bits, nibbles as in Q4_0
//   y = q * d + m,  q in [0, 31]
// Quantizer: m = min(x), d = (max - min) / 31,
// q = trunc((x - min) / d + 0.5) (no clamp: it cannot exceed 31).

void QuantizeQ5_1(const float* x, uint8_t* b) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / 31.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  Put16(b, F32ToF16(d));
  Put16(b + 2, F32ToF16(min));
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const uint8_t q0 =
        static_cast<uint8_t>(TruncToInt((x[j] - min) * id + 0.5f));
    const uint8_t q1 =
        static_cast<uint8_t>(TruncToInt((x[j + 16] - min) * id + 0.5f));
    b[8 + j] = static_cast<uint8_t>((q0 & 0xF) | (q1 & 0xF) << 4);
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  Put32(b + 4, qh);
}

float DequantQ5_1(const uint8_t* b, int e) {
  const uint8_t byte = b[8 + e % 16];
  const int lo = e < 16 ? (byte & 0xF) : (byte >> 4);
  const int hi = static_cast<int>((Get32(b + 4) >> e) & 1u);
  return static_cast<float>(lo | hi << 4) * Half(b) + Half(b + 2);
}

// ------------------------------------------------------------------------
// Q8_0: 32 elements in 34 bytes.
//   [0, 2)   d   fp16 scale
//   [2, 34)  qs  int8 per element
//   y = q * d
// Quantizer: d = max|x| / 127, q = roundf(x / d) (halves away from zero).

void QuantizeQ8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(x[j]);
    amax = amax > ax ? amax : ax;
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  Put16(b, F32ToF16(d));
  for (int j = 0; j < 32; ++j) {
    const int q = TruncToInt(std::round(x[j] * id));
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
  }
}

float DequantQ8_0(const uint8_t* b, int e) {
  const int8_t q = static_cast<int8_t>(b[2 + e]);
  return static_cast<float>(q) * Half(b);
}

// ------------------------------------------------------------------------
// The K-quant scale searches (ggml-quants.c helpers).

// make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL), the only way the
// reference quantizers use it (Q6_K): levels l in [-nmax, nmax - 1], stored
// in L as l + nmax. Starts from iscale = -nmax / m (m of largest
// magnitude), weights each element by x^2, tries iscale =
// -(nmax + 0.1 is) / m for is = -9 ... 9 and keeps the levels whose
// weighted least-squares scale sum(w x l) / sum(w l^2) fits best; returns
// that scale.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float amax;
  const float max = SignedAbsMax(x, n, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  const float fnmax = static_cast<float>(nmax);
  // Levels and weighted sums for one trial inverse scale.
  auto trial = [&](float iscale, int8_t* levels, float* sumlx, float* suml2) {
    *sumlx = 0.0f;
    *suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      levels[i] = static_cast<int8_t>(l + nmax);
      const float w = x[i] * x[i];
      const float fl = static_cast<float>(l);
      *sumlx += w * x[i] * fl;
      *suml2 += w * fl * fl;
    }
  };
  float sumlx, suml2;
  trial(static_cast<float>(-nmax) / max, L, &sumlx, &suml2);
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  int8_t candidate[kQK];
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(fnmax + 0.1f * static_cast<float>(is)) / max;
    trial(iscale, candidate, &sumlx, &suml2);
    if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
      std::copy(candidate, candidate + n, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// make_q3_quants(n, nmax, x, L, do_rmse = true), as Q3_K uses it: levels
// l in [-nmax, nmax - 1] from iscale = -nmax / m, then up to 5 sweeps that
// move single levels to whatever improves the x^2-weighted least-squares
// fit; L gets l + nmax, the result is the least-squares scale.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  float amax;
  const float max = SignedAbsMax(x, n, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    const float fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float old_l = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * old_l;
      if (slx > 0.0f) {
        float sl2 = suml2 - w * old_l * old_l;
        const int new_l = Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          const float fl = static_cast<float>(new_l);
          slx += w * x[i] * fl;
          sl2 += w * fl * fl;
          if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// make_qkx2_quants: asymmetric levels l in [0, nmax] for y = scale * l +
// min with min <= 0. Starts from the full range (scale = (max - min) /
// nmax), then for is = 0 ... nstep tries iscale = (rmin + rdelta * is +
// nmax) / (max - min), refits scale and min by weighted least squares
// (min forced to 0 if it came out positive), and keeps whichever has the
// smallest weighted error (|error| if use_mad, else error^2). Returns the
// scale; *the_min gets -min (>= 0).
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights,
                     uint8_t* L, float* the_min, float rmin, float rdelta,
                     int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0.0f) min = 0.0f;
  if (max == min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.0f;
  }
  const float fnmax = static_cast<float>(nmax);
  auto error_of = [&](float diff) {
    return use_mad ? std::fabs(diff) : diff * diff;
  };
  float iscale = fnmax / (max - min);
  float scale = 1.0f / iscale;
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(Clamp(l, 0, nmax));
    const float diff = scale * static_cast<float>(L[i]) + min - x[i];
    best_error += weights[i] * error_of(diff);
  }
  uint8_t laux[kQK];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + fnmax) / (max - min);
    float sum_l = 0.0f;
    float sum_l2 = 0.0f;
    float sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0.0f) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0.0f) {
        this_min = 0.0f;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0.0f;
      for (int i = 0; i < n; ++i) {
        const float diff =
            this_scale * static_cast<float>(laux[i]) + this_min - x[i];
        cur_error += weights[i] * error_of(diff);
      }
      if (cur_error < best_error) {
        std::copy(laux, laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Packs 2-bit levels L[0..255] as Q2_K and Q3_K store them: byte
// 32 * (e / 128) + e % 32 holds element e in bits 2 * ((e % 128) / 32).
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* l = L + 128 * half;
    for (int i = 0; i < 32; ++i) {
      qs[32 * half + i] = static_cast<uint8_t>(l[i] | l[i + 32] << 2 |
                                               l[i + 64] << 4 | l[i + 96] << 6);
    }
  }
}

// The 2-bit level of element e of a Q2_K / Q3_K qs array.
int Get2Bit(const uint8_t* qs, int e) {
  return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

// ------------------------------------------------------------------------
// Q2_K: 256 elements in 84 bytes, 16 groups of 16.
//   [0, 16)   scales  byte g: low nibble = scale of group g, high = min
//   [16, 80)  qs      2-bit levels, see Pack2Bit
//   [80, 82)  d       fp16 super-scale for the scales
//   [82, 84)  dmin    fp16 super-scale for the mins
//   y = (d * sc) * q - dmin * m,  q in [0, 3], g = e / 16
// Quantizer: per group make_qkx2_quants(16, 3, weights |x|, rmin -0.5,
// rdelta 0.1, 15 steps, mean absolute error); sc = nearest(15 scale /
// max scale), m = nearest(15 min / max min), d = max scale / 15, dmin =
// max min / 15; then every level is redone as nearest((x + dmin m) /
// (d sc)) clamped to [0, 3] with the stored (fp16) d and dmin, except in
// groups whose d * sc is 0, which keep the search's levels.

void QuantizeQ2_K(const float* x, uint8_t* b) {
  uint8_t L[kQK];
  float weights[16];
  float mins[16];
  float scales[16];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int g = 0; g < 16; ++g) {
    for (int i = 0; i < 16; ++i) weights[i] = std::fabs(x[16 * g + i]);
    scales[g] = MakeQkx2Quants(16, 3, x + 16 * g, weights, L + 16 * g, &mins[g],
                               -0.5f, 0.1f, 15, true);
    if (scales[g] > max_scale) max_scale = scales[g];
    if (mins[g] > max_min) max_min = mins[g];
  }
  uint8_t* sc = b;
  uint8_t* qs = b + 16;
  if (max_scale > 0.0f) {
    const float iscale = 15.0f / max_scale;
    for (int g = 0; g < 16; ++g) {
      sc[g] = static_cast<uint8_t>(NearestInt(iscale * scales[g]));
    }
    Put16(b + 80, F32ToF16(max_scale / 15.0f));
  } else {
    std::fill(sc, sc + 16, 0);
    Put16(b + 80, F32ToF16(0.0f));
  }
  if (max_min > 0.0f) {
    const float iscale = 15.0f / max_min;
    for (int g = 0; g < 16; ++g) {
      const unsigned l = static_cast<unsigned>(NearestInt(iscale * mins[g]));
      sc[g] = static_cast<uint8_t>(sc[g] | l << 4);
    }
    Put16(b + 82, F32ToF16(max_min / 15.0f));
  } else {
    Put16(b + 82, F32ToF16(0.0f));
  }
  for (int g = 0; g < 16; ++g) {
    const float d = Half(b + 80) * static_cast<float>(sc[g] & 0xF);
    if (d == 0.0f) continue;
    const float dm = Half(b + 82) * static_cast<float>(sc[g] >> 4);
    for (int i = 0; i < 16; ++i) {
      const int l = NearestInt((x[16 * g + i] + dm) / d);
      L[16 * g + i] = static_cast<uint8_t>(Clamp(l, 0, 3));
    }
  }
  Pack2Bit(L, qs);
}

float DequantQ2_K(const uint8_t* b, int e) {
  const uint8_t sc = b[e / 16];
  const int q = Get2Bit(b + 16, e);
  const float dl = Half(b + 80) * static_cast<float>(sc & 0xF);
  const float ml = Half(b + 82) * static_cast<float>(sc >> 4);
  return dl * static_cast<float>(q) - ml;
}

// ------------------------------------------------------------------------
// Q3_K: 256 elements in 110 bytes, 16 groups of 16.
//   [0, 32)    hmask   bit e / 32 of byte e % 32 is the high bit of e
//   [32, 96)   qs      low 2 bits of each level, see Pack2Bit
//   [96, 108)  scales  16 6-bit signed scales (stored + 32):
//                group g < 8: low 4 bits = low nibble of scales[g],
//                group g >= 8: low 4 bits = high nibble of scales[g - 8];
//                high 2 bits = bits 2 * (g / 4) of scales[8 + g % 4]
//   [108, 110) d       fp16 super-scale
//   q = low2 - (high bit set ? 0 : 4)   in [-4, 3]
//   y = (d * (s - 32)) * q,  g = e / 16
// Quantizer: per group make_q3_quants(16, 4, do_rmse); m = the group scale
// of largest magnitude, s = clamp(nearest(-32 scale / m), -32, 31) + 32,
// d = m / -32; levels redone as clamp(nearest(x / (d (s - 32))), -4, 3)
// with the stored d, except where d * (s - 32) is 0.

int Q3Scale(const uint8_t* scales, int g) {
  const int low = g < 8 ? (scales[g] & 0xF) : (scales[g - 8] >> 4);
  const int high = (scales[8 + g % 4] >> (2 * (g / 4))) & 3;
  return (low | high << 4) - 32;
}

void QuantizeQ3_K(const float* x, uint8_t* b) {
  int8_t L[kQK];
  float scales[16];
  float max_scale = 0.0f;
  float amax = 0.0f;
  for (int g = 0; g < 16; ++g) {
    scales[g] = MakeQ3Quants(16, 4, x + 16 * g, L + 16 * g);
    const float scale = std::fabs(scales[g]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[g];
    }
  }
  uint8_t* hmask = b;
  uint8_t* qs = b + 32;
  uint8_t* sc = b + 96;
  std::fill(sc, sc + 12, 0);
  if (max_scale != 0.0f) {
    const float iscale = -32.0f / max_scale;
    for (int g = 0; g < 16; ++g) {
      const int l =
          Clamp(static_cast<int8_t>(NearestInt(iscale * scales[g])), -32, 31) +
          32;
      if (g < 8) {
        sc[g] = static_cast<uint8_t>(l & 0xF);
      } else {
        sc[g - 8] = static_cast<uint8_t>(sc[g - 8] | (l & 0xF) << 4);
      }
      sc[8 + g % 4] =
          static_cast<uint8_t>(sc[8 + g % 4] | (l >> 4) << (2 * (g / 4)));
    }
    Put16(b + 108, F32ToF16(1.0f / iscale));
  } else {
    Put16(b + 108, F32ToF16(0.0f));
  }
  for (int g = 0; g < 16; ++g) {
    const float d = Half(b + 108) * static_cast<float>(Q3Scale(sc, g));
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = NearestInt(x[16 * g + i] / d);
      L[16 * g + i] = static_cast<int8_t>(Clamp(l, -4, 3) + 4);
    }
  }
  uint8_t low2[kQK];
  std::fill(hmask, hmask + 32, 0);
  for (int e = 0; e < kQK; ++e) {
    int l = L[e];
    if (l > 3) {
      hmask[e % 32] = static_cast<uint8_t>(hmask[e % 32] | 1 << (e / 32));
      l -= 4;
    }
    low2[e] = static_cast<uint8_t>(l);
  }
  Pack2Bit(low2, qs);
}

float DequantQ3_K(const uint8_t* b, int e) {
  const bool high = (b[e % 32] >> (e / 32)) & 1;
  const int q = Get2Bit(b + 32, e) - (high ? 0 : 4);
  const float dl = Half(b + 108) * static_cast<float>(Q3Scale(b + 96, e / 16));
  return dl * static_cast<float>(q);
}

// ------------------------------------------------------------------------
// The 12-byte scale block shared by Q4_K and Q5_K (get_scale_min_k4): 8
// groups of 32, each a 6-bit scale sc and a 6-bit min m.
//   g < 4:  sc = S[g] & 63,  m = S[g + 4] & 63
//   g >= 4: sc = (S[g + 4] & 15) | (S[g - 4] >> 6) << 4,
//           m  = (S[g + 4] >> 4) | (S[g] >> 6) << 4
// i.e. bytes 0-3 carry the scales of groups 0-3 plus the top bits of the
// scales of 4-7, bytes 4-7 the mins of 0-3 plus the top bits of the mins
// of 4-7, bytes 8-11 the low nibbles (scale | min << 4) of groups 4-7.

void K4ScaleMin(const uint8_t* s, int g, int* sc, int* m) {
  if (g < 4) {
    *sc = s[g] & 63;
    *m = s[g + 4] & 63;
  } else {
    *sc = (s[g + 4] & 0xF) | (s[g - 4] >> 6) << 4;
    *m = (s[g + 4] >> 4) | (s[g] >> 6) << 4;
  }
}

void PackK4Scales(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  std::fill(s, s + 12, 0);
  for (int g = 0; g < 8; ++g) {
    if (g < 4) {
      s[g] = ls[g];
      s[g + 4] = lm[g];
    } else {
      s[g + 4] = static_cast<uint8_t>((ls[g] & 0xF) | (lm[g] & 0xF) << 4);
      s[g - 4] = static_cast<uint8_t>(s[g - 4] | (ls[g] >> 4) << 6);
      s[g] = static_cast<uint8_t>(s[g] | (lm[g] >> 4) << 6);
    }
  }
}

// The common part of the Q4_K and Q5_K quantizers: per group of 32,
// weights sqrt(mean x^2) + |x| and make_qkx2_quants(32, nmax, ...,
// rmin, 0.1, nstep, squared error); 6-bit scales and mins relative to the
// largest (d = max scale / 63, dmin = max min / 63) written to b[0, 16)
// (d, dmin, 12 scale bytes); then the levels L redone with the stored
// values as clamp(nearest((x + dmin m) / (d sc)), 0, nmax), except in
// groups whose d * sc is 0.
void QuantizeK4Levels(const float* x, int nmax, float rmin, int nstep,
                      uint8_t* b, uint8_t* L) {
  float weights[32];
  float mins[8];
  float scales[8];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int g = 0; g < 8; ++g) {
    const float* xg = x + 32 * g;
    float sum_x2 = 0.0f;
    for (int i = 0; i < 32; ++i) sum_x2 += xg[i] * xg[i];
    const float av_x = std::sqrt(sum_x2 / 32.0f);
    for (int i = 0; i < 32; ++i) weights[i] = av_x + std::fabs(xg[i]);
    scales[g] = MakeQkx2Quants(32, nmax, xg, weights, L + 32 * g, &mins[g],
                               rmin, 0.1f, nstep, false);
    if (scales[g] > max_scale) max_scale = scales[g];
    if (mins[g] > max_min) max_min = mins[g];
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  uint8_t ls[8];
  uint8_t lm[8];
  for (int g = 0; g < 8; ++g) {
    // uint8_t, as in ggml: a negative result would wrap, then clamp to 63.
    ls[g] = std::min<uint8_t>(
        63, static_cast<uint8_t>(NearestInt(inv_scale * scales[g])));
    lm[g] = std::min<uint8_t>(
        63, static_cast<uint8_t>(NearestInt(inv_min * mins[g])));
  }
  PackK4Scales(ls, lm, b + 4);
  Put16(b, F32ToF16(max_scale / 63.0f));
  Put16(b + 2, F32ToF16(max_min / 63.0f));
  for (int g = 0; g < 8; ++g) {
    int sc, m;
    K4ScaleMin(b + 4, g, &sc, &m);
    const float d = Half(b) * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = Half(b + 2) * static_cast<float>(m);
    for (int i = 0; i < 32; ++i) {
      const int l = NearestInt((x[32 * g + i] + dm) / d);
      L[32 * g + i] = static_cast<uint8_t>(Clamp(l, 0, nmax));
    }
  }
}

// Element e of a Q4_K / Q5_K block: (d * sc) * q - dmin * m.
float K4Value(const uint8_t* b, int e, int q) {
  int sc, m;
  K4ScaleMin(b + 4, e / 32, &sc, &m);
  const float d1 = Half(b) * static_cast<float>(sc);
  const float m1 = Half(b + 2) * static_cast<float>(m);
  return d1 * static_cast<float>(q) - m1;
}

// ------------------------------------------------------------------------
// Q4_K: 256 elements in 144 bytes, 8 groups of 32.
//   [0, 2)     d       fp16 super-scale for the scales
//   [2, 4)     dmin    fp16 super-scale for the mins
//   [4, 16)    scales  6-bit scales and mins, see K4ScaleMin
//   [16, 144)  qs      4 chunks of 64 elements, 32 bytes each: element
//                      64 c + i (i < 32) is the low nibble of qs[32 c + i],
//                      element 64 c + 32 + i its high nibble
//   y = (d * sc) * q - dmin * m,  q in [0, 15], g = e / 32
// Quantizer: QuantizeK4Levels with nmax 15, rmin -1, 20 steps.

void QuantizeQ4_K(const float* x, uint8_t* b) {
  uint8_t L[kQK];
  QuantizeK4Levels(x, 15, -1.0f, 20, b, L);
  uint8_t* qs = b + 16;
  for (int c = 0; c < 4; ++c) {
    for (int i = 0; i < 32; ++i) {
      qs[32 * c + i] =
          static_cast<uint8_t>(L[64 * c + i] | L[64 * c + 32 + i] << 4);
    }
  }
}

float DequantQ4_K(const uint8_t* b, int e) {
  const int c = e / 64;
  const int i = e % 64;
  const uint8_t byte = b[16 + 32 * c + i % 32];
  const int q = i < 32 ? (byte & 0xF) : (byte >> 4);
  return K4Value(b, e, q);
}

// ------------------------------------------------------------------------
// Q5_K: 256 elements in 176 bytes, 8 groups of 32.
//   [0, 2)     d       fp16 super-scale for the scales
//   [2, 4)     dmin    fp16 super-scale for the mins
//   [4, 16)    scales  as Q4_K
//   [16, 48)   qh      bit 4 of element 64 c + i (i < 32) is bit 2 c of
//                      qh[i]; of element 64 c + 32 + i, bit 2 c + 1 of qh[i]
//   [48, 176)  qs      low 4 bits, nibbles laid out as Q4_K's qs
//   y = (d * sc) * q - dmin * m,  q in [0, 31], g = e / 32
// Quantizer: QuantizeK4Levels with nmax 31, rmin -0.5, 15 steps.

void QuantizeQ5_K(const float* x, uint8_t* b) {
  uint8_t L[kQK];
  QuantizeK4Levels(x, 31, -0.5f, 15, b, L);
  uint8_t* qh = b + 16;
  uint8_t* qs = b + 48;
  std::fill(qh, qh + 32, 0);
  for (int c = 0; c < 4; ++c) {
    for (int i = 0; i < 32; ++i) {
      const int l1 = L[64 * c + i];
      const int l2 = L[64 * c + 32 + i];
      qh[i] = static_cast<uint8_t>(qh[i] | (l1 >> 4) << (2 * c) |
                                   (l2 >> 4) << (2 * c + 1));
      qs[32 * c + i] = static_cast<uint8_t>((l1 & 0xF) | (l2 & 0xF) << 4);
    }
  }
}

float DequantQ5_K(const uint8_t* b, int e) {
  const int c = e / 64;
  const int i = e % 64;
  const uint8_t byte = b[48 + 32 * c + i % 32];
  const int low = i < 32 ? (byte & 0xF) : (byte >> 4);
  const int high = (b[16 + i % 32] >> (2 * c + i / 32)) & 1;
  return K4Value(b, e, low + 16 * high);
}

// ------------------------------------------------------------------------
// Q6_K: 256 elements in 210 bytes, 16 groups of 16.
//   [0, 128)    ql      low 4 bits; two halves of 128 elements, 64 bytes
//                       each. In half h, for i < 32, with Q = ql + 64 h:
//                         element 128 h + i       low nibble of Q[i]
//                         element 128 h + 32 + i  low nibble of Q[32 + i]
//                         element 128 h + 64 + i  high nibble of Q[i]
//                         element 128 h + 96 + i  high nibble of Q[32 + i]
//   [128, 192)  qh      high 2 bits: element 128 h + 32 k + i (k < 4) in
//                       bits 2 k, 2 k + 1 of qh[32 h + i]
//   [192, 208)  scales  int8 scale per group
//   [208, 210)  d       fp16 super-scale
//   y = (d * scale) * (q - 32),  q in [0, 63], g = e / 16
// Quantizer: per group make_qx_quants(16, 32, rmse_type 1); m = the group
// scale of largest magnitude (all below 1e-15: an all-zero block), scale
// = min(127, nearest(-128 s / m)), d = m / -128; levels redone as
// clamp(nearest(x / (d scale)), -32, 31) + 32 with the stored d, except
// where d * scale is 0.

void QuantizeQ6_K(const float* x, uint8_t* b) {
  int8_t L[kQK];
  float scales[16];
  float max_scale = 0.0f;
  float max_abs_scale = 0.0f;
  for (int g = 0; g < 16; ++g) {
    scales[g] = MakeQxQuants(16, 32, x + 16 * g, L + 16 * g);
    const float abs_scale = std::fabs(scales[g]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[g];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::fill(b, b + 210, 0);
    return;
  }
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  int8_t sc[16];
  const float iscale = -128.0f / max_scale;
  Put16(b + 208, F32ToF16(1.0f / iscale));
  for (int g = 0; g < 16; ++g) {
    sc[g] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[g])));
    b[192 + g] = static_cast<uint8_t>(sc[g]);
  }
  for (int g = 0; g < 16; ++g) {
    const float d = Half(b + 208) * static_cast<float>(sc[g]);
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = NearestInt(x[16 * g + i] / d);
      L[16 * g + i] = static_cast<int8_t>(Clamp(l, -32, 31) + 32);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const int8_t* l = L + 128 * h;
    for (int i = 0; i < 32; ++i) {
      ql[64 * h + i] =
          static_cast<uint8_t>((l[i] & 0xF) | (l[i + 64] & 0xF) << 4);
      ql[64 * h + 32 + i] =
          static_cast<uint8_t>((l[i + 32] & 0xF) | (l[i + 96] & 0xF) << 4);
      qh[32 * h + i] =
          static_cast<uint8_t>(l[i] >> 4 | (l[i + 32] >> 4) << 2 |
                               (l[i + 64] >> 4) << 4 | (l[i + 96] >> 4) << 6);
    }
  }
}

float DequantQ6_K(const uint8_t* b, int e) {
  const int h = e / 128;
  const int k = (e % 128) / 32;
  const int i = e % 32;
  const uint8_t lbyte = b[64 * h + 32 * (k % 2) + i];
  const int low = k < 2 ? (lbyte & 0xF) : (lbyte >> 4);
  const int high = (b[128 + 32 * h + i] >> (2 * k)) & 3;
  const int q = (low | high << 4) - 32;
  const int8_t scale = static_cast<int8_t>(b[192 + e / 16]);
  return Half(b + 208) * static_cast<float>(scale) * static_cast<float>(q);
}

// ------------------------------------------------------------------------
// The type table.

using QuantizeBlockFn = void (*)(const float* x, uint8_t* block);
using DequantElementFn = float (*)(const uint8_t* block, int element);

struct TypeInfo {
  GgmlType type;
  const char* name;
  int64_t elements;
  int64_t bytes;
  QuantizeBlockFn quantize;
  DequantElementFn dequantize;
};

constexpr TypeInfo kTypes[] = {
    {GgmlType::kF32, "F32", 1, 4, QuantizeF32, DequantF32},
    {GgmlType::kF16, "F16", 1, 2, QuantizeF16, DequantF16},
    {GgmlType::kQ4_0, "Q4_0", 32, 18, QuantizeQ4_0, DequantQ4_0},
    {GgmlType::kQ4_1, "Q4_1", 32, 20, QuantizeQ4_1, DequantQ4_1},
    {GgmlType::kQ5_0, "Q5_0", 32, 22, QuantizeQ5_0, DequantQ5_0},
    {GgmlType::kQ5_1, "Q5_1", 32, 24, QuantizeQ5_1, DequantQ5_1},
    {GgmlType::kQ8_0, "Q8_0", 32, 34, QuantizeQ8_0, DequantQ8_0},
    {GgmlType::kQ2_K, "Q2_K", 256, 84, QuantizeQ2_K, DequantQ2_K},
    {GgmlType::kQ3_K, "Q3_K", 256, 110, QuantizeQ3_K, DequantQ3_K},
    {GgmlType::kQ4_K, "Q4_K", 256, 144, QuantizeQ4_K, DequantQ4_K},
    {GgmlType::kQ5_K, "Q5_K", 256, 176, QuantizeQ5_K, DequantQ5_K},
    {GgmlType::kQ6_K, "Q6_K", 256, 210, QuantizeQ6_K, DequantQ6_K},
    {GgmlType::kBF16, "BF16", 1, 2, QuantizeBf16, DequantBf16},
};

const TypeInfo* FindType(GgmlType t) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == t) return &info;
  }
  return nullptr;
}

const TypeInfo& RequireType(GgmlType t) {
  const TypeInfo* info = FindType(t);
  if (info == nullptr) Fail("unsupported type", t);
  return *info;
}

int64_t RequireBlocks(const TypeInfo& info, int64_t n) {
  if (n < 0 || n % info.elements != 0) {
    Fail("element count is not a whole number of blocks", info.type);
  }
  return n / info.elements;
}

}  // namespace

const char* GgmlTypeName(GgmlType t) {
  const TypeInfo* info = FindType(t);
  return info != nullptr ? info->name : "UNKNOWN";
}

int64_t BlockElements(GgmlType t) { return RequireType(t).elements; }

int64_t BlockBytes(GgmlType t) { return RequireType(t).bytes; }

const std::vector<GgmlType>& AllGgmlTypes() {
  static const std::vector<GgmlType>* const kAll = [] {
    auto* all = new std::vector<GgmlType>;
    for (const TypeInfo& info : kTypes) all->push_back(info.type);
    return all;
  }();
  return *kAll;
}

std::string QuantizeReference(GgmlType t, const float* x, int64_t n) {
  const TypeInfo& info = RequireType(t);
  const int64_t blocks = RequireBlocks(info, n);
  std::string out(static_cast<size_t>(blocks * info.bytes), '\0');
  auto* dst = reinterpret_cast<uint8_t*>(&out[0]);
  for (int64_t i = 0; i < blocks; ++i) {
    info.quantize(x + i * info.elements, dst + i * info.bytes);
  }
  return out;
}

std::vector<float> DequantizeReference(GgmlType t, const void* data,
                                       int64_t n) {
  const TypeInfo& info = RequireType(t);
  const int64_t blocks = RequireBlocks(info, n);
  const auto* src = static_cast<const uint8_t*>(data);
  std::vector<float> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < blocks; ++i) {
    const uint8_t* block = src + i * info.bytes;
    for (int e = 0; e < info.elements; ++e) {
      y[i * info.elements + e] = info.dequantize(block, e);
    }
  }
  return y;
}

std::vector<float> RoundTrip(GgmlType t, const float* x, int64_t n) {
  const std::string q = QuantizeReference(t, x, n);
  return DequantizeReference(t, q.data(), n);
}

}  // namespace fm::model::testing
