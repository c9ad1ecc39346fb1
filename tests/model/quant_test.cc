// Number-format tests: fp16 conversion against known bit patterns, and the
// Q8_0 kernels (AVX2 and scalar paths) against a dequantized dot product.
#include "services/model/quant.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "services/model/dequantize.h"
#include "services/model/kquant_matmul.h"

namespace fm::model {
namespace {

TEST_CASE("fp16 conversion matches known values", "[model][quant]") {
  CHECK(F16ToF32(0x3c00) == 1.0f);
  CHECK(F16ToF32(0xc000) == -2.0f);
  CHECK(F16ToF32(0x7bff) == 65504.0f);
  CHECK(F16ToF32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(F16ToF32(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(F16ToF32(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(std::isinf(F16ToF32(0x7c00)));
  CHECK(std::isnan(F16ToF32(0x7e00)));
  CHECK(F16ToF32(0x8000) == 0.0f);
  CHECK(std::signbit(F16ToF32(0x8000)));
  CHECK(F32ToF16(1.0f) == 0x3c00);
  CHECK(F32ToF16(65504.0f) == 0x7bff);
  CHECK(F32ToF16(1e6f) == 0x7c00);                          // overflow to inf
  CHECK(F32ToF16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // ties to even
  // Every finite half survives a round trip.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    REQUIRE(F32ToF16(F16ToF32(static_cast<uint16_t>(h))) == h);
  }
}

TEST_CASE("Q8_0 quantization and the matmul kernel", "[model][quant]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  constexpr int64_t kRows = 37, kCols = 256, kMaxN = 9;
  std::vector<float> w(kRows * kCols), x(kMaxN * kCols);
  for (float& v : w) v = dist(rng);
  for (float& v : x) v = dist(rng);
  std::vector<BlockQ8_0> wq(kRows * kCols / 32);
  for (int64_t r = 0; r < kRows; ++r) {
    QuantizeRowQ8_0(w.data() + r * kCols, wq.data() + r * kCols / 32, kCols);
  }
  // Round-trip error of Q8_0: half a step (amax / 254) plus the fp16
  // rounding of the scale (relative 2^-11, times |q| <= 127).
  std::vector<float> back(kCols);
  DequantizeRow(DType::kQ8_0, wq.data(), back.data(), kCols);
  for (int64_t b = 0; b < kCols / 32; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::fmax(amax, std::fabs(w[b * 32 + j]));
    for (int j = 0; j < 32; ++j) {
      CHECK(std::fabs(back[b * 32 + j] - w[b * 32 + j]) <=
            amax / 254.0f + amax / 2048.0f * 1.01f);
    }
  }
  // Odd and even block counts (the AVX-512 kernel pairs blocks).
  for (int64_t cols : {kCols, kCols - 32}) {
    for (int64_t n = 1; n <= kMaxN; ++n) {
      INFO("cols " << cols << " n " << n << " kernel " << Q8KernelName());
      std::vector<BlockQ8_0> wc(kRows * cols / 32);
      for (int64_t r = 0; r < kRows; ++r) {
        QuantizeRowQ8_0(w.data() + r * kCols, wc.data() + r * cols / 32, cols);
      }
      Q8Activations xq;
      xq.Resize(n, cols);
      for (int64_t i = 0; i < n; ++i) xq.QuantizeRow(i, x.data() + i * kCols);
      std::vector<float> out(n * kRows, 0.0f);
      // Two parts of the rows, as two threads would do.
      MatMulQ8_0(wc.data(), xq, kRows, 0, 20, out.data());
      MatMulQ8_0(wc.data(), xq, kRows, 20, kRows, out.data());
      std::vector<float> single(kRows);
      for (int64_t i = 0; i < n; ++i) {
        // Each row alone gives bit-identical results (batch invariance).
        Q8Activations one;
        one.Resize(1, cols);
        one.QuantizeRow(0, x.data() + i * kCols);
        MatMulQ8_0(wc.data(), one, kRows, 0, kRows, single.data());
        for (int64_t r = 0; r < kRows; ++r) {
          REQUIRE(single[r] == out[i * kRows + r]);
          // The exact value of the quantized product, in double.
          double want = 0.0;
          for (int64_t b = 0; b < cols / 32; ++b) {
            const BlockQ8_0& wb = wc[r * cols / 32 + b];
            int32_t s = 0;
            for (int j = 0; j < 32; ++j) {
              s += wb.qs[j] * xq.qs[i * cols + b * 32 + j];
            }
            want += double(F16ToF32(wb.d)) * xq.d[i * cols / 32 + b] * s;
          }
          CHECK(std::fabs(out[i * kRows + r] - want) <=
                1e-5 * (1.0 + std::fabs(want)));
        }
      }
    }
  }
}

// Blocks of tiny values: a Q8 block's fp16 scale goes subnormal (coarser
// than amax / 127) and a Q8_K block's inverse scale can overflow; either
// way every quant stays in [-127, 127] with the sign of its value, which
// the int8 kernels' sign and bias tricks rely on.
TEST_CASE("activation quants stay within 127 for blocks of tiny values",
          "[model][quant]") {
  constexpr int64_t kCols = 256;
  for (float amax :
       {2e-4f, 3e-5f, 1e-6f, 6e-8f, 1e-30f, 1e-37f, 1e-38f, 1e-44f, 0.0f}) {
    INFO("amax " << amax);
    std::vector<float> x(kCols);
    for (int64_t k = 0; k < kCols; ++k) {
      x[k] = amax * static_cast<float>((k * 37) % 23 - 11) / 11.0f;
    }
    Q8Activations a;
    Q8KActivations ak;
    a.Resize(1, kCols);
    ak.Resize(1, kCols);
    a.QuantizeRow(0, x.data());
    ak.QuantizeRow(0, x.data());
    for (int64_t k = 0; k < kCols; ++k) {
      for (int q : {static_cast<int>(a.qs[k]), static_cast<int>(ak.qs[k])}) {
        CHECK(q >= -127);
        CHECK(q <= 127);
        CHECK((q == 0 || (q > 0) == (x[k] > 0)));
      }
    }
    for (float d : {a.d[0], ak.d[0]}) {
      CHECK(std::isfinite(d));
      CHECK(d >= 0.0f);
    }
  }
}

TEST_CASE("activation quantization: fp16-rounded scale, lround quants",
          "[model][quant]") {
  // The documented rule, computed here independently of the SIMD code.
  auto expect_block = [](const float* xb, int8_t* q) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float dq = F16ToF32(F32ToF16(amax / 127.0f));
    const float id = dq != 0.0f ? 1.0f / dq : 0.0f;
    for (int j = 0; j < 32; ++j) {
      q[j] = static_cast<int8_t>(std::lround(xb[j] * id));
    }
    return dq;
  };
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  constexpr int64_t kCols = 32 * 7;
  std::vector<float> x(kCols);
  for (int trial = 0; trial < 200; ++trial) {
    for (float& v : x) v = dist(rng);
    if (trial == 0) std::fill(x.begin(), x.end(), 0.0f);
    if (trial == 1) {
      // amax 127 gives scale 1: exact ties at +-k.5 must round away from 0.
      for (int64_t j = 0; j < kCols; ++j) {
        x[j] = (j % 2 ? -0.5f : 0.5f) + static_cast<float>(j % 64) - 32.0f;
      }
      for (int64_t b = 0; b < kCols / 32; ++b) x[b * 32] = 127.0f;
    }
    Q8Activations xq;
    xq.Resize(1, kCols);
    xq.QuantizeRow(0, x.data());
    for (int64_t b = 0; b < kCols / 32; ++b) {
      int8_t want[32];
      const float d = expect_block(x.data() + b * 32, want);
      INFO("trial " << trial << " block " << b);
      REQUIRE(xq.d[b] == d);
      for (int j = 0; j < 32; ++j) REQUIRE(xq.qs[b * 32 + j] == want[j]);
    }
  }
}

}  // namespace
}  // namespace fm::model
