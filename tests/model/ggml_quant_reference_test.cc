// Tests of the scalar ggml-format reference (ggml_quant_reference.h): the
// type table, the fp16 / bf16 rounding, round-trip error bounds per type,
// hand-built blocks decoded element by element from each format's
// definition, zeros, determinism, and digests of ggml's own output.
#include "tests/model/ggml_quant_reference.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

namespace fm::model::testing {
namespace {

// ------------------------------------------------------------------------
// Test data: splitmix64 rather than <random> distributions (whose output
// differs between standard libraries), and every value an exact float
// (a 24-bit integer times 2^-23), so the data, and therefore the golden
// digests below, are the same on every platform.

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform on [-1, 1) in steps of 2^-23.
  float Uniform() {
    const int32_t v = static_cast<int32_t>(Next() >> 40) - (1 << 23);
    return static_cast<float>(v) * 0x1p-23f;
  }

 private:
  uint64_t state_;
};

std::vector<float> UniformData(int64_t n, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(n);
  for (float& v : x) v = rng.Uniform();
  return x;
}

// Uniform data with a few large outliers (+-40, the sign of the value they
// replace): one in 331, so most 256-element super-blocks hold one and
// most 32-blocks none.
std::vector<float> OutlierData(int64_t n, uint64_t seed) {
  std::vector<float> x = UniformData(n, seed);
  for (int64_t i = 17; i < n; i += 331) x[i] = (x[i] < 0 ? -40.0f : 40.0f);
  return x;
}

// The input of the golden digests: 64 segments of 1024 values, eight kinds
// in turn, meant to reach the branches of the scale searches and the
// rounding ties, then 8 super-blocks of UniformData(256, seed) for seeds
// that reach rare paths: the last trial step of Q5_K's (14, 783), Q4_K's
// (860, 1062) and Q2_K's (41, 45) make_qkx2_quants, and the fifth sweep of
// Q3_K's make_q3_quants (27, 102). Only exact or single-rounding float
// arithmetic, and no multiply feeding an add that contraction could fuse
// differently, so the data are the same everywhere.
constexpr uint64_t kRarePathSeeds[] = {14, 783, 860, 1062, 41, 45, 27, 102};
constexpr int64_t kGoldenN = 65536 + 256 * std::size(kRarePathSeeds);

std::vector<float> GoldenData() {
  SplitMix64 rng(20251015);
  std::vector<float> x;
  x.reserve(kGoldenN);
  for (int64_t i = 0; i < 65536; ++i) {
    const int64_t j = i % 1024;
    const float u = rng.Uniform();
    float v = u;
    switch (i / 1024 % 8) {
      case 0:  // uniform
        break;
      case 1:  // outliers
        v = j % 37 == 5 ? u * 40.0f : u;
        break;
      case 2:  // group scales 1 ... 5 apart, a zero group, a positive block
        if (j >= 32 && j < 48) {
          v = 0.0f;
        } else if (j >= 192 && j < 224) {
          v = u * 0.5f + 0.75f;
        } else {
          v = u * u * u * static_cast<float>(1 + (j / 16) % 5);
        }
        break;
      case 3: {  // bell-shaped
        const float u2 = rng.Uniform();
        const float u3 = rng.Uniform();
        v = u + u2 + u3;
        break;
      }
      case 4:  // tiny: fp16 scales subnormal, flushed to zero, then
               // groups below Q6_K's 1e-15 cut-off
        v = j < 384 ? u * 0x1p-20f : j < 768 ? u * 0x1p-30f : u * 0x1p-46f;
        break;
      case 5:  // all negative
        v = -(std::fabs(u) * 0.5f + 0.5f);
        break;
      case 6:  // sparse, then multiples of 1/8 (exact ties)
        if (j < 512) {
          v = rng.Next() % 4 == 0 ? u : 0.0f;
        } else {
          v = static_cast<float>(static_cast<int>(rng.Next() % 15) - 7) *
              0.125f;
        }
        break;
      default:  // small integers (ties), then large magnitudes
        v = j < 512 ? static_cast<float>(static_cast<int>(rng.Next() % 7) - 3)
                    : u * 1000.0f;
        break;
    }
    x.push_back(v);
  }
  for (uint64_t seed : kRarePathSeeds) {
    const std::vector<float> block = UniformData(256, seed);
    x.insert(x.end(), block.begin(), block.end());
  }
  return x;
}

// Pseudo-random bytes in every field of n / BlockElements(t) blocks, except
// that each fp16 scale is kept finite (|value| < 2, either sign) so the
// decoded floats are, too. The fp16 fields are at fixed offsets per type.
std::string RandomBlocks(GgmlType t, int64_t n, uint64_t seed) {
  const int64_t blocks = n / BlockElements(t);
  const int64_t bytes = BlockBytes(t);
  std::vector<int> halves;  // byte offsets of fp16 fields within a block
  switch (t) {
    case GgmlType::kF16:
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
    case GgmlType::kQ8_0:
      halves = {0};
      break;
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
      halves = {0, 2};
      break;
    case GgmlType::kQ2_K:
      halves = {80, 82};
      break;
    case GgmlType::kQ3_K:
      halves = {108};
      break;
    case GgmlType::kQ6_K:
      halves = {208};
      break;
    default:
      break;
  }
  SplitMix64 rng(seed);
  std::string out(blocks * bytes, '\0');
  for (char& c : out) c = static_cast<char>(rng.Next() >> 56);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int off : halves) {
      char& high = out[b * bytes + off + 1];
      high = static_cast<char>(static_cast<uint8_t>(high) & 0xBB);
    }
  }
  // F32 / BF16: keep the exponent below 0xFF (no inf or NaN).
  if (t == GgmlType::kF32 || t == GgmlType::kBF16) {
    const int64_t top = t == GgmlType::kF32 ? 3 : 1;
    for (int64_t b = 0; b < blocks; ++b) {
      char& c = out[b * bytes + top];
      c = static_cast<char>(static_cast<uint8_t>(c) & 0xBF);
    }
  }
  return out;
}

uint64_t Fnv1a64(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

// Digest of float bit patterns, little-endian.
uint64_t FloatDigest(const std::vector<float>& v) {
  std::string bytes;
  for (float f : v) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int i = 0; i < 4; ++i)
      bytes.push_back(static_cast<char>(u >> (8 * i)));
  }
  return Fnv1a64(bytes.data(), bytes.size());
}

std::vector<float> Decode(GgmlType t, const std::vector<uint8_t>& block) {
  REQUIRE(static_cast<int64_t>(block.size()) == BlockBytes(t));
  return DequantizeReference(t, block.data(), BlockElements(t));
}

uint16_t ToF16(float v) {
  const std::string q = QuantizeReference(GgmlType::kF16, &v, 1);
  return static_cast<uint16_t>(static_cast<uint8_t>(q[0]) |
                               static_cast<uint8_t>(q[1]) << 8);
}

uint16_t ToBf16(float v) {
  const std::string q = QuantizeReference(GgmlType::kBF16, &v, 1);
  return static_cast<uint16_t>(static_cast<uint8_t>(q[0]) |
                               static_cast<uint8_t>(q[1]) << 8);
}

float FromF16(uint16_t h) {
  const uint8_t b[2] = {static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8)};
  return DequantizeReference(GgmlType::kF16, b, 1)[0];
}

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ------------------------------------------------------------------------
// The type table.

TEST_CASE("ggml type table: numbers, names and block sizes", "[model][quant]") {
  struct Row {
    GgmlType type;
    uint32_t number;
    const char* name;
    int64_t elements;
    int64_t bytes;
  };
  const Row rows[] = {
      {GgmlType::kF32, 0, "F32", 1, 4},
      {GgmlType::kF16, 1, "F16", 1, 2},
      {GgmlType::kQ4_0, 2, "Q4_0", 32, 18},
      {GgmlType::kQ4_1, 3, "Q4_1", 32, 20},
      {GgmlType::kQ5_0, 6, "Q5_0", 32, 22},
      {GgmlType::kQ5_1, 7, "Q5_1", 32, 24},
      {GgmlType::kQ8_0, 8, "Q8_0", 32, 34},
      {GgmlType::kQ2_K, 10, "Q2_K", 256, 84},
      {GgmlType::kQ3_K, 11, "Q3_K", 256, 110},
      {GgmlType::kQ4_K, 12, "Q4_K", 256, 144},
      {GgmlType::kQ5_K, 13, "Q5_K", 256, 176},
      {GgmlType::kQ6_K, 14, "Q6_K", 256, 210},
      {GgmlType::kBF16, 30, "BF16", 1, 2},
  };
  REQUIRE(AllGgmlTypes().size() == std::size(rows));
  for (size_t i = 0; i < std::size(rows); ++i) {
    const Row& r = rows[i];
    INFO(r.name);
    CHECK(AllGgmlTypes()[i] == r.type);
    CHECK(static_cast<uint32_t>(r.type) == r.number);
    CHECK(std::string(GgmlTypeName(r.type)) == r.name);
    CHECK(BlockElements(r.type) == r.elements);
    CHECK(BlockBytes(r.type) == r.bytes);
  }
  CHECK(std::string(GgmlTypeName(static_cast<GgmlType>(9))) == "UNKNOWN");
}

// ------------------------------------------------------------------------
// fp16 and bf16.

TEST_CASE("F16 quantization rounds to nearest even", "[model][quant]") {
  CHECK(ToF16(1.0f) == 0x3C00);
  CHECK(ToF16(-2.0f) == 0xC000);
  CHECK(ToF16(0.0f) == 0x0000);
  CHECK(ToF16(-0.0f) == 0x8000);
  CHECK(ToF16(65504.0f) == 0x7BFF);    // largest half
  CHECK(ToF16(65519.996f) == 0x7BFF);  // just below the halfway point
  CHECK(ToF16(65520.0f) == 0x7C00);    // halfway to 2^16: to even, inf
  CHECK(ToF16(1e6f) == 0x7C00);
  CHECK(ToF16(-INFINITY) == 0xFC00);
  CHECK(ToF16(NAN) == 0x7E00);
  CHECK(ToF16(1.0f + 0x1p-11f) == 0x3C00);      // tie, mantissa even: down
  CHECK(ToF16(1.0f + 3 * 0x1p-11f) == 0x3C02);  // tie, odd: up
  CHECK(ToF16(1.0f + 0x1p-11f + 0x1p-23f) == 0x3C01);  // above the tie
  CHECK(ToF16(0x1p-14f) == 0x0400);                    // smallest normal
  CHECK(ToF16(0x1p-24f) == 0x0001);                    // smallest subnormal
  CHECK(ToF16(0x1p-25f) == 0x0000);  // tie with zero: even, zero
  CHECK(ToF16(0x1p-25f * 1.0000001f) == 0x0001);
  CHECK(ToF16(1.5f * 0x1p-24f) == 0x0002);     // subnormal tie, odd: up
  CHECK(ToF16(2.5f * 0x1p-24f) == 0x0002);     // subnormal tie, even: down
  CHECK(ToF16(1023.5f * 0x1p-24f) == 0x0400);  // rounds up into the normals
  CHECK(ToF16(1e-10f) == 0x0000);
}

TEST_CASE("F16 dequantization decodes every bit pattern", "[model][quant]") {
  CHECK(FromF16(0x3C00) == 1.0f);
  CHECK(FromF16(0xC000) == -2.0f);
  CHECK(FromF16(0x7BFF) == 65504.0f);
  CHECK(FromF16(0x0001) == 0x1p-24f);
  CHECK(FromF16(0x03FF) == 1023 * 0x1p-24f);
  CHECK(FromF16(0x0400) == 0x1p-14f);
  CHECK(FromF16(0x3555) == 0.333251953125f);
  CHECK(std::isinf(FromF16(0x7C00)));
  CHECK(std::isnan(FromF16(0x7E00)));
  CHECK(std::signbit(FromF16(0x8000)));
  // Every finite half survives a round trip; sign symmetry holds.
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00) continue;
    const float f = FromF16(static_cast<uint16_t>(h));
    if (ToF16(f) != h || FromF16(static_cast<uint16_t>(h ^ 0x8000)) != -f)
      ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE("BF16 rounds to nearest even and keeps NaNs quiet",
          "[model][quant]") {
  CHECK(ToBf16(1.0f) == 0x3F80);
  CHECK(ToBf16(-1.5f) == 0xBFC0);
  CHECK(ToBf16(FromBits(0x3F808000)) == 0x3F80);  // tie, even: down
  CHECK(ToBf16(FromBits(0x3F818000)) == 0x3F82);  // tie, odd: up
  CHECK(ToBf16(FromBits(0x3F808001)) == 0x3F81);
  CHECK(ToBf16(FromBits(0x3F807FFF)) == 0x3F80);
  CHECK(ToBf16(FromBits(0x7F7FFFFF)) == 0x7F80);  // FLT_MAX rounds to inf
  CHECK(ToBf16(FromBits(0x7F800001)) == 0x7FC0);  // signalling NaN: quiet
  CHECK(ToBf16(FromBits(0xFFC12345)) == 0xFFC1);
  CHECK(ToBf16(FromBits(0x00000001)) == 0x0000);  // subnormals are kept
  CHECK(ToBf16(FromBits(0x00018000)) == 0x0002);
  const uint8_t b[8] = {0x80, 0x3F, 0xC0, 0x3F, 0x49, 0x40, 0x80, 0xFF};
  const std::vector<float> y = DequantizeReference(GgmlType::kBF16, b, 4);
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == 1.5f);
  CHECK(y[2] == 3.140625f);
  CHECK(y[3] == -INFINITY);
}

// ------------------------------------------------------------------------
// Round-trip error.
//
// Bounds, per element, in terms of the element's ggml block (32 values for
// Q4_0 ... Q8_0, the 256-value super-block for the K types): A = max |x|,
// R = max x - min x; for the K types also its group's (16 or 32 values)
// grid step s. The fp16 rounding of a scale d (relative 2^-11) adds
// |level| * d * 2^-11 <= A * 2^-11 (and |min| * 2^-11 for the stored
// minimum of Q4_1 / Q5_1).
//  F32   exact.
//  F16   |x| 2^-11 (half an ulp) + 2^-25 (half the smallest subnormal).
//  BF16  |x| 2^-8.
//  Q8_0  d = A/127, round to nearest: A/254 + A/2048.
//  Q4_0  d = A/8 with levels -8..7 anchored at the largest-magnitude value:
//        values near the opposite extreme map to +8 and are clamped to +7,
//        a whole step: A/8 + A/2048.
//  Q5_0  likewise with levels -16..15: A/16 + A/2048.
//  Q4_1  d = R/15 from the block minimum, round half up: R/30 + (R+A)/2048.
//  Q5_1  d = R/31: R/62 + (R + A)/2048.
//  K types: c * s + k * A. s is the group's nominal step: (max(x, 0) -
//        min(x, 0)) / nmax for the types with a minimum (Q2_K nmax 3, Q4_K
//        15, Q5_K 31), max |x| / nmax for the symmetric ones (Q3_K 4, Q6_K
//        32). c covers rounding (half a step) plus what the scale search
//        gives up at the extremes: c = 1 with a minimum; c = 1.25 for the
//        symmetric types, whose levels -nmax..nmax-1 clamp the value
//        opposite the largest magnitude by a full step, and whose
//        least-squares refit can shrink the step a little more. k covers
//        the quantization of the group scales (and mins) against the
//        super-block's largest: an effective step off by half a sub-scale
//        unit moves the end of the range by nmax times that:
//          Q6_K 8-bit scales:  32 * (A/32) / 256 = A/256, k = 1/128;
//          Q3_K 6-bit scales:  4 * (A/4) / 64 = A/64, k = 1/32;
//          Q4_K, Q5_K 6-bit scales and mins: ~A/63 + A/126, k = 1/32;
//          Q2_K 4-bit scales and mins: 3 * (0.8 A) / 30 + A / 30 (the MAD
//            search may widen the step to range / 2.5), k = 1/8.
// With these, 300 seeds of uniform, outlier, heavy-tailed, mixed-scale and
// all-positive data stay below 0.81 of the bound for every K type.
// Also, for uniform data, RMS error <= 1.15 * step / sqrt(12), the RMS of a
// uniformly distributed rounding error of one nominal step (A/8, A/16,
// A/127, R/15, R/31 for the 32-blocks; 2A/3, A/4, 2A/15, 2A/31, A/32 for
// Q2_K ... Q6_K; the searches only improve on it).

// The K types' bound parameters (see above): group size, nmax, whether the
// levels have a minimum, c and k.
struct KBound {
  int group = 1;
  int nmax = 1;
  bool with_min = false;
  double c = 0;
  double k = 0;
};

KBound KBoundOf(GgmlType t) {
  switch (t) {
    case GgmlType::kQ2_K:
      return {16, 3, true, 1.0, 1.0 / 8};
    case GgmlType::kQ3_K:
      return {16, 4, false, 1.25, 1.0 / 32};
    case GgmlType::kQ4_K:
      return {32, 15, true, 1.0, 1.0 / 32};
    case GgmlType::kQ5_K:
      return {32, 31, true, 1.0, 1.0 / 32};
    case GgmlType::kQ6_K:
      return {16, 32, false, 1.25, 1.0 / 128};
    default:
      return {};
  }
}

struct Bound {
  double max_ratio = 0;  // worst |error| / bound
  int64_t worst = -1;
  double rms = 0;
};

Bound MeasureError(GgmlType t, const std::vector<float>& x,
                   const std::vector<float>& y) {
  const int64_t n = static_cast<int64_t>(x.size());
  Bound b;
  double sum2 = 0;
  const int64_t block = BlockElements(t);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    double amax = 0, mn = INFINITY, mx = -INFINITY;
    for (int64_t i = b0; i < b0 + block; ++i) {
      amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
      mn = std::min(mn, static_cast<double>(x[i]));
      mx = std::max(mx, static_cast<double>(x[i]));
    }
    const double range = mx - mn;
    const KBound kb = KBoundOf(t);
    for (int64_t i = b0; i < b0 + block; ++i) {
      const double xi = x[i];
      double bound = 0;
      switch (t) {
        case GgmlType::kF32:
          bound = 0;
          break;
        case GgmlType::kF16:
          bound = std::fabs(xi) * 0x1p-11 + 0x1p-25;
          break;
        case GgmlType::kBF16:
          bound = std::fabs(xi) * 0x1p-8;
          break;
        case GgmlType::kQ8_0:
          bound = amax / 254 + amax / 2048;
          break;
        case GgmlType::kQ4_0:
          bound = amax / 8 + amax / 2048;
          break;
        case GgmlType::kQ5_0:
          bound = amax / 16 + amax / 2048;
          break;
        case GgmlType::kQ4_1:
          bound = range / 30 + (range + amax) / 2048;
          break;
        case GgmlType::kQ5_1:
          bound = range / 62 + (range + amax) / 2048;
          break;
        default: {
          const int64_t g0 = b0 + (i - b0) / kb.group * kb.group;
          double gmin = 0, gmax = 0, gamax = 0;
          for (int64_t j = g0; j < g0 + kb.group; ++j) {
            gmin = std::min(gmin, static_cast<double>(x[j]));
            gmax = std::max(gmax, static_cast<double>(x[j]));
            gamax = std::max(gamax, std::fabs(static_cast<double>(x[j])));
          }
          const double step =
              kb.with_min ? (gmax - gmin) / kb.nmax : gamax / kb.nmax;
          bound = kb.c * step + kb.k * amax;
        }
      }
      bound = bound * (1 + 1e-3) + 1e-30;  // float slop in the quantizers
      const double err = std::fabs(static_cast<double>(y[i]) - xi);
      sum2 += err * err;
      if (err / bound > b.max_ratio) {
        b.max_ratio = err / bound;
        b.worst = i;
      }
    }
  }
  b.rms = std::sqrt(sum2 / static_cast<double>(n));
  return b;
}

// RMS bound for UniformData (A ~ 1, R ~ 2 in every block).
double UniformRmsBound(GgmlType t) {
  double step = 0;
  switch (t) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 0x1p-11;
    case GgmlType::kBF16:
      return 0x1p-8;
    case GgmlType::kQ8_0:
      step = 1.0 / 127;
      break;
    case GgmlType::kQ4_0:
      step = 1.0 / 8;
      break;
    case GgmlType::kQ5_0:
      step = 1.0 / 16;
      break;
    case GgmlType::kQ4_1:
      step = 2.0 / 15;
      break;
    case GgmlType::kQ5_1:
      step = 2.0 / 31;
      break;
    case GgmlType::kQ2_K:
      step = 2.0 / 3;
      break;
    case GgmlType::kQ3_K:
      step = 1.0 / 4;
      break;
    case GgmlType::kQ4_K:
      step = 2.0 / 15;
      break;
    case GgmlType::kQ5_K:
      step = 2.0 / 31;
      break;
    case GgmlType::kQ6_K:
      step = 1.0 / 32;
      break;
  }
  return 1.15 * step / std::sqrt(12.0);
}

TEST_CASE("round-trip error stays within each type's bound", "[model][quant]") {
  constexpr int64_t kN = 4096;
  const std::vector<float> uniform = UniformData(kN, 1);
  const std::vector<float> outliers = OutlierData(kN, 2);
  for (GgmlType t : AllGgmlTypes()) {
    INFO("type " << GgmlTypeName(t));
    {
      const std::vector<float> y = RoundTrip(t, uniform.data(), kN);
      const Bound b = MeasureError(t, uniform, y);
      INFO("uniform: worst error/bound " << b.max_ratio << " at " << b.worst
                                         << ", rms " << b.rms);
      CHECK(b.max_ratio <= 1.0);
      CHECK(b.rms <= UniformRmsBound(t));
      if (t == GgmlType::kF32) CHECK(y == uniform);
    }
    {
      const std::vector<float> y = RoundTrip(t, outliers.data(), kN);
      const Bound b = MeasureError(t, outliers, y);
      INFO("outliers: worst error/bound " << b.max_ratio << " at " << b.worst);
      CHECK(b.max_ratio <= 1.0);
      bool finite = true;
      for (float v : y) finite = finite && std::isfinite(v);
      CHECK(finite);
    }
  }
}

// ------------------------------------------------------------------------
// Layout pins: blocks written byte by byte, decoded by hand from the
// format definitions in ggml_quant_reference.cc. fp16 constants: 0x3C00 =
// 1, 0x3800 = 0.5, 0x3400 = 0.25, 0xBC00 = -1.

TEST_CASE("scalar layouts: F32, F16, BF16 are little-endian",
          "[model][quant]") {
  const uint8_t f32[8] = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0xC0, 0xBF};
  const std::vector<float> a = DequantizeReference(GgmlType::kF32, f32, 2);
  CHECK(a[0] == 1.0f);
  CHECK(a[1] == -1.5f);
  const uint8_t f16[6] = {0x00, 0x3C, 0x01, 0x00, 0xFF, 0x7B};
  const std::vector<float> h = DequantizeReference(GgmlType::kF16, f16, 3);
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == 0x1p-24f);
  CHECK(h[2] == 65504.0f);
  const float x[2] = {1.0f, -1.5f};
  CHECK(QuantizeReference(GgmlType::kF32, x, 2) ==
        std::string(reinterpret_cast<const char*>(f32), 8));
  CHECK(QuantizeReference(GgmlType::kF16, x, 2) ==
        std::string("\x00\x3C\x00\xBE", 4));
  CHECK(QuantizeReference(GgmlType::kBF16, x, 2) ==
        std::string("\x80\x3F\xC0\xBF", 4));
}

TEST_CASE("Q4_0 layout: d, then low nibbles = elements 0-15",
          "[model][quant]") {
  std::vector<uint8_t> b(18, 0x88);  // every level 8: value 0
  b[0] = 0x00, b[1] = 0x38;          // d = 0.5
  b[2 + 0] = 0x0F;                   // e0 = 15, e16 = 0
  b[2 + 1] = 0x80;                   // e1 = 0, e17 = 8
  b[2 + 15] = 0x5A;                  // e15 = 10, e31 = 5
  const std::vector<float> y = Decode(GgmlType::kQ4_0, b);
  CHECK(y[0] == 3.5f);    // (15 - 8) * 0.5
  CHECK(y[16] == -4.0f);  // (0 - 8) * 0.5
  CHECK(y[1] == -4.0f);
  CHECK(y[17] == 0.0f);
  CHECK(y[15] == 1.0f);   // (10 - 8) * 0.5
  CHECK(y[31] == -1.5f);  // (5 - 8) * 0.5
  CHECK(y[2] == 0.0f);
  CHECK(y[18] == 0.0f);
}

TEST_CASE("Q4_1 layout: d, m, nibbles, and y = q d + m", "[model][quant]") {
  std::vector<uint8_t> b(20, 0);
  b[0] = 0x00, b[1] = 0x38;  // d = 0.5
  b[2] = 0x00, b[3] = 0xBC;  // m = -1
  b[4 + 0] = 0xF0;           // e0 = 0, e16 = 15
  b[4 + 3] = 0x21;           // e3 = 1, e19 = 2
  const std::vector<float> y = Decode(GgmlType::kQ4_1, b);
  CHECK(y[0] == -1.0f);
  CHECK(y[16] == 6.5f);  // 15 * 0.5 - 1
  CHECK(y[3] == -0.5f);
  CHECK(y[19] == 0.0f);
  CHECK(y[5] == -1.0f);
  CHECK(y[31] == -1.0f);
}

TEST_CASE("Q5_0 layout: qh is a little-endian uint32, bit j = element j",
          "[model][quant]") {
  std::vector<uint8_t> b(22, 0);
  b[0] = 0x00, b[1] = 0x38;  // d = 0.5
  // qh = 0x80020001: high bits of elements 0, 17 and 31.
  b[2] = 0x01, b[3] = 0x00, b[4] = 0x02, b[5] = 0x80;
  b[6 + 0] = 0x00;   // e0 low 0, e16 low 0
  b[6 + 1] = 0x3F;   // e1 low 15, e17 low 3
  b[6 + 15] = 0xF7;  // e15 low 7, e31 low 15
  const std::vector<float> y = Decode(GgmlType::kQ5_0, b);
  CHECK(y[0] == 0.0f);    // (0 | 16) - 16
  CHECK(y[16] == -8.0f);  // (0 - 16) * 0.5
  CHECK(y[1] == -0.5f);   // (15 - 16) * 0.5
  CHECK(y[17] == 1.5f);   // ((3 | 16) - 16) * 0.5
  CHECK(y[15] == -4.5f);  // (7 - 16) * 0.5
  CHECK(y[31] == 7.5f);   // ((15 | 16) - 16) * 0.5
  CHECK(y[2] == -8.0f);
}

TEST_CASE("Q5_1 layout: d, m, qh, nibbles, and y = q d + m", "[model][quant]") {
  std::vector<uint8_t> b(24, 0);
  b[0] = 0x00, b[1] = 0x34;  // d = 0.25
  b[2] = 0x00, b[3] = 0x3C;  // m = 1
  // qh = 0x00100020: high bits of elements 5 and 20.
  b[4] = 0x20, b[5] = 0x00, b[6] = 0x10, b[7] = 0x00;
  b[8 + 5] = 0x1A;  // e5 low 10, e21 low 1
  b[8 + 4] = 0x0F;  // e4 low 15, e20 low 0
  const std::vector<float> y = Decode(GgmlType::kQ5_1, b);
  CHECK(y[5] == 7.5f);    // 26 * 0.25 + 1
  CHECK(y[21] == 1.25f);  // 1 * 0.25 + 1
  CHECK(y[4] == 4.75f);   // 15 * 0.25 + 1
  CHECK(y[20] == 5.0f);   // 16 * 0.25 + 1
  CHECK(y[0] == 1.0f);
}

TEST_CASE("Q8_0 layout: d, then int8 levels", "[model][quant]") {
  std::vector<uint8_t> b(34, 0);
  b[0] = 0x00, b[1] = 0x38;  // d = 0.5
  b[2 + 0] = 0x7F;           // 127
  b[2 + 1] = 0x80;           // -128
  b[2 + 2] = 0x05;
  b[2 + 31] = 0xFF;  // -1
  const std::vector<float> y = Decode(GgmlType::kQ8_0, b);
  CHECK(y[0] == 63.5f);
  CHECK(y[1] == -64.0f);
  CHECK(y[2] == 2.5f);
  CHECK(y[31] == -0.5f);
  CHECK(y[3] == 0.0f);
}

TEST_CASE("Q2_K layout: scales, qs, then d and dmin", "[model][quant]") {
  std::vector<uint8_t> b(84, 0);
  b[80] = 0x00, b[81] = 0x3C;  // d = 1
  b[82] = 0x00, b[83] = 0x38;  // dmin = 0.5
  // scales[g]: low nibble scale, high nibble min.
  b[0] = 0x21;   // group 0: 1, 2
  b[2] = 0x03;   // group 2: 3, 0
  b[4] = 0x12;   // group 4: 2, 1
  b[6] = 0x44;   // group 6: 4, 4
  b[9] = 0x52;   // group 9: 2, 5
  b[15] = 0xF1;  // group 15: 1, 15
  // qs[0] holds elements 0, 32, 64, 96 in bits 0-1, 2-3, 4-5, 6-7.
  b[16 + 0] = 0xE4;   // levels 0, 1, 2, 3
  b[16 + 48] = 0x03;  // element 128 + 16 = 144: level 3
  b[16 + 63] = 0x80;  // element 128 + 96 + 31 = 255: level 2
  const std::vector<float> y = Decode(GgmlType::kQ2_K, b);
  CHECK(y[0] == -1.0f);   // 1 * 1 * 0 - 0.5 * 2
  CHECK(y[32] == 3.0f);   // 1 * 3 * 1 - 0
  CHECK(y[64] == 3.5f);   // 1 * 2 * 2 - 0.5 * 1
  CHECK(y[96] == 10.0f);  // 1 * 4 * 3 - 0.5 * 4
  CHECK(y[1] == -1.0f);
  CHECK(y[144] == 3.5f);   // 2 * 3 - 0.5 * 5
  CHECK(y[159] == -2.5f);  // qs[63] bits 0-1 = 0: 0 - 2.5
  CHECK(y[255] == -5.5f);  // 1 * 2 - 0.5 * 15
  CHECK(y[240] == -7.5f);  // qs[48] bits 6-7 = 0: 0 - 7.5
  CHECK(y[176] == 0.0f);   // group 11 has scale and min 0
}

TEST_CASE("Q3_K layout: hmask, qs, 6-bit packed scales, d", "[model][quant]") {
  std::vector<uint8_t> b(110, 0);
  b[108] = 0x00, b[109] = 0x38;  // d = 0.5
  // Scales (6 bits, minus 32); every other group is 0 - 32 = -32.
  // group 0  = 33 (+1):  low 1 in scales[0] low nibble, high 2 in
  //                      scales[8] bits 0-1
  // group 5  = 29 (-3):  low 13 in scales[5] low nibble, high 1 in
  //                      scales[9] bits 2-3
  // group 10 = 52 (+20): low 4 in scales[2] high nibble, high 3 in
  //                      scales[10] bits 4-5
  b[96 + 0] = 0x01;
  b[96 + 2] = 0x40;
  b[96 + 5] = 0x0D;
  b[96 + 8] = 0x02;
  b[96 + 9] = 0x04;
  b[96 + 10] = 0x30;
  // Levels: low 2 bits in qs as Q2_K; hmask bit e / 32 of byte e % 32 set
  // means q = low2, clear means q = low2 - 4.
  b[32 + 0] = 0x03, b[0] = 0x01;    // e0: low 3, high -> 3
  b[32 + 16] = 0x20;                // e80: qs[16] bits 4-5 = 2, no high -> -2
  b[32 + 21] = 0x10, b[21] = 0x04;  // e85: 1, high bit 2 -> 1
  b[32 + 35] = 0x0C, b[3] = 0x20;   // e163: qs[35] bits 2-3 = 3, bit 5 -> 3
  b[32 + 63] = 0x40, b[31] = 0x80;  // e255: qs[63] bits 6-7 = 1, bit 7 -> 1
  const std::vector<float> y = Decode(GgmlType::kQ3_K, b);
  CHECK(y[0] == 1.5f);      // 0.5 * 1 * 3
  CHECK(y[1] == -2.0f);     // 0.5 * 1 * -4
  CHECK(y[3] == -2.0f);     // hmask[3] bit 0 clear
  CHECK(y[80] == 3.0f);     // 0.5 * -3 * -2
  CHECK(y[85] == -1.5f);    // 0.5 * -3 * 1
  CHECK(y[163] == 30.0f);   // 0.5 * 20 * 3
  CHECK(y[255] == -16.0f);  // 0.5 * -32 * 1
  CHECK(y[254] == 64.0f);   // 0.5 * -32 * -4
  CHECK(y[35] == 64.0f);    // group 2: scale -32, level -4
}

TEST_CASE("Q4_K layout: d, dmin, get_scale_min_k4 packing, nibbles",
          "[model][quant]") {
  std::vector<uint8_t> b(144, 0);
  b[0] = 0x00, b[1] = 0x38;  // d = 0.5
  b[2] = 0x00, b[3] = 0x34;  // dmin = 0.25
  // 12 scale bytes S at b[4]:
  //   group 0: sc = S[0] & 63 = 1, m = S[4] & 63 = 0
  //   group 1: sc = S[1] & 63 = 10, m = S[5] & 63 = 3
  //   group 5: sc = (S[9] & 15) | (S[1] >> 6) << 4 = 7 | 48 = 55,
  //            m = (S[9] >> 4) | (S[5] >> 6) << 4 = 1 | 32 = 33
  //   group 7: sc = (S[11] & 15) | (S[3] >> 6) << 4 = 63, m = 0
  b[4 + 0] = 0x01;
  b[4 + 1] = 0xCA;
  b[4 + 3] = 0xC0;
  b[4 + 5] = 0x83;
  b[4 + 9] = 0x17;
  b[4 + 11] = 0x0F;
  // qs at b[16]: chunk c of 64 elements in qs[32c, 32c + 32), low nibbles
  // first.
  b[16 + 0] = 0xA5;    // e0 = 5, e32 = 10
  b[16 + 74] = 0xF0;   // e138 = 0, e170 = 15
  b[16 + 127] = 0x30;  // e255 = 3
  const std::vector<float> y = Decode(GgmlType::kQ4_K, b);
  CHECK(y[0] == 2.5f);  // 0.5 * 1 * 5
  CHECK(y[1] == 0.0f);
  CHECK(y[32] == 49.25f);  // 0.5 * 10 * 10 - 0.25 * 3
  CHECK(y[33] == -0.75f);
  CHECK(y[170] == 404.25f);  // 0.5 * 55 * 15 - 0.25 * 33
  CHECK(y[171] == -8.25f);
  CHECK(y[138] == 0.0f);   // group 4: sc and m 0
  CHECK(y[255] == 94.5f);  // 0.5 * 63 * 3
}

TEST_CASE("Q5_K layout: d, dmin, scales, qh bit pairs per chunk, nibbles",
          "[model][quant]") {
  std::vector<uint8_t> b(176, 0);
  b[0] = 0x00, b[1] = 0x3C;  // d = 1
  b[2] = 0x00, b[3] = 0x3C;  // dmin = 1
  // Scales: group 0 sc 2 m 1; group 3 sc 1 m 0; group 6
  // sc = (S[10] & 15) | (S[2] >> 6) << 4 = 3 | 16 = 19,
  // m = (S[10] >> 4) | (S[6] >> 6) << 4 = 48.
  b[4 + 0] = 0x02;
  b[4 + 4] = 0x01;
  b[4 + 2] = 0x40;
  b[4 + 3] = 0x01;
  b[4 + 6] = 0xC0;
  b[4 + 10] = 0x03;
  // qh at b[16]: element 64c + i has its bit 4 in qh[i % 32] bit 2c + i / 32.
  // qs at b[48], laid out as Q4_K.
  b[48 + 0] = 0x07, b[16 + 0] = 0x01;    // e0: 7 + 16
  b[48 + 1] = 0x0F;                      // e1: 15
  b[48 + 104] = 0x05, b[16 + 8] = 0x40;  // e200 (c 3, i 8): 5 + 16
  b[48 + 105] = 0x0A;                    // e201: 10
  b[48 + 36] = 0x90, b[16 + 4] = 0x08;   // e100 (c 1, i 36): 9 + 16
  const std::vector<float> y = Decode(GgmlType::kQ5_K, b);
  CHECK(y[0] == 45.0f);     // 2 * 23 - 1
  CHECK(y[1] == 29.0f);     // 2 * 15 - 1
  CHECK(y[4] == -1.0f);     // qh[4] bit 0 clear
  CHECK(y[200] == 351.0f);  // 19 * 21 - 48
  CHECK(y[201] == 142.0f);  // 19 * 10 - 48
  CHECK(y[100] == 25.0f);   // 1 * 25
  CHECK(y[68] == 0.0f);     // group 2: all zero
}

TEST_CASE("Q6_K layout: ql, qh interleaving, int8 scales, d",
          "[model][quant]") {
  std::vector<uint8_t> b(210, 0);
  b[208] = 0x00, b[209] = 0x38;  // d = 0.5
  b[192 + 0] = 2;
  b[192 + 2] = 0xFD;  // -3
  b[192 + 4] = 1;
  b[192 + 6] = 0xFF;  // -1
  b[192 + 7] = 0x7F;  // 127
  b[192 + 8] = 4;
  b[192 + 15] = 0x80;  // -128
  // Half 0, i = 0: ql[0] low/high nibbles = elements 0 / 64, ql[32] low /
  // high = elements 32 / 96; qh[0] bit pairs 0-1, 2-3, 4-5, 6-7 = elements
  // 0, 32, 64, 96.
  b[0] = 0x5A;
  b[32] = 0xC3;
  b[128 + 0] = 0x1B;   // 3, 2, 1, 0
  b[63] = 0xF0;        // element 127: low 15
  b[128 + 31] = 0xC0;  // element 127: high 3
  b[127] = 0x10;       // element 255 (half 1): low 1 in ql[64 + 63] high
  b[128 + 63] = 0x40;  // element 255: high 1 in qh[32 + 31] bits 6-7
  const std::vector<float> y = Decode(GgmlType::kQ6_K, b);
  CHECK(y[0] == 26.0f);      // 0.5 * 2 * ((10 | 48) - 32)
  CHECK(y[32] == -4.5f);     // 0.5 * -3 * ((3 | 32) - 32)
  CHECK(y[64] == -5.5f);     // 0.5 * 1 * ((5 | 16) - 32)
  CHECK(y[96] == 10.0f);     // 0.5 * -1 * (12 - 32)
  CHECK(y[127] == 1968.5f);  // 0.5 * 127 * 31
  CHECK(y[128] == -64.0f);   // 0.5 * 4 * -32
  CHECK(y[255] == 960.0f);   // 0.5 * -128 * ((1 | 16) - 32)
  CHECK(y[1] == -32.0f);     // 0.5 * 2 * -32
  CHECK(y[31] == 0.0f);      // group 1: scale 0
}

// ------------------------------------------------------------------------
// Zeros, determinism, sizes.

TEST_CASE("all-zero input dequantizes to zeros for every type",
          "[model][quant]") {
  const std::vector<float> zeros(512, 0.0f);
  for (GgmlType t : AllGgmlTypes()) {
    INFO("type " << GgmlTypeName(t));
    const std::vector<float> y = RoundTrip(t, zeros.data(), 512);
    int bad = 0;
    for (float v : y) bad += !(v == 0.0f);  // also catches NaN
    CHECK(bad == 0);
  }
}

TEST_CASE("QuantizeReference is deterministic, blockwise and sized",
          "[model][quant]") {
  constexpr int64_t kN = 1024;
  const std::vector<float> x = OutlierData(kN, 7);
  for (GgmlType t : AllGgmlTypes()) {
    INFO("type " << GgmlTypeName(t));
    const std::string a = QuantizeReference(t, x.data(), kN);
    const std::string b = QuantizeReference(t, x.data(), kN);
    CHECK(a == b);
    CHECK(static_cast<int64_t>(a.size()) ==
          kN / BlockElements(t) * BlockBytes(t));
    // Blocks are independent: quantizing the halves separately gives the
    // same bytes.
    const std::string lo = QuantizeReference(t, x.data(), kN / 2);
    const std::string hi = QuantizeReference(t, x.data() + kN / 2, kN / 2);
    CHECK(lo + hi == a);
    CHECK(QuantizeReference(t, x.data(), 0).empty());
    CHECK(RoundTrip(t, x.data(), kN) == DequantizeReference(t, a.data(), kN));
  }
}

// ------------------------------------------------------------------------
// Golden digests from ggml itself: FNV-1a-64 of the bytes that ggml's
// quantize_row_<type>_ref (GGML_FP32_TO_FP16 / _BF16 for F16 / BF16) makes
// of GoldenData(), of ggml's dequantize_row_<type> of those bytes, and of
// ggml's dequantize_row_<type> of RandomBlocks(t, 1024, 99). Computed once
// from llama.cpp's ggml/src/ggml-quants.c and ggml-impl.h (snapshot of
// 2025-10-15, commit 7adc79c0), compiled with -ffp-contract=off.

struct Golden {
  GgmlType type;
  uint64_t quantized;
  uint64_t round_trip;
  uint64_t random_decoded;
};

const Golden kGolden[] = {
    {GgmlType::kF32, 0xFC43F92627873CB4ull, 0xFC43F92627873CB4ull,
     0x5A1D75E538CBCE53ull},
    {GgmlType::kF16, 0x0D32C04D7E8B007Dull, 0x328386B3657E2F49ull,
     0xB6961537E2274455ull},
    {GgmlType::kQ4_0, 0x2C9B93EBEF7FB6A2ull, 0x3FCE31273A3E74A2ull,
     0xF6DFD1F7214C4F01ull},
    {GgmlType::kQ4_1, 0x052D8642A3D98D1Full, 0x7E1D8B3AB2FF2E54ull,
     0xA36F2B4C824CB2BEull},
    {GgmlType::kQ5_0, 0x958C93597E046F13ull, 0x49F6AF86ACB32637ull,
     0xFE08D520EE92D75Full},
    {GgmlType::kQ5_1, 0xFE75C379DDFD3386ull, 0x0737214F0219C67Bull,
     0x5544393714B39B7Bull},
    {GgmlType::kQ8_0, 0xC51D6D69C8BEA9D4ull, 0xB292A5AE80EDB96Eull,
     0x4F1CD2B20288E13Full},
    {GgmlType::kQ2_K, 0x3ADAF2B51C4244A2ull, 0x17EEEFC9EA80F92Dull,
     0xAE531356A6F3F803ull},
    {GgmlType::kQ3_K, 0xF2D0237079EAF552ull, 0xD7422CFAD6C23A50ull,
     0xC641A53B73EBC62Full},
    {GgmlType::kQ4_K, 0x59043362532340B4ull, 0xDECF5041114EF800ull,
     0xFF3AFF795947712Dull},
    {GgmlType::kQ5_K, 0x21E6BBC7A3F1AE8Aull, 0x840FBC1EA1C2BAFDull,
     0xDC6A82E04048D13Eull},
    {GgmlType::kQ6_K, 0x98D9F4A4DC62C9BFull, 0xF142BD96B2FFF603ull,
     0x6D73E5530B8C8920ull},
    {GgmlType::kBF16, 0xC68357BEEA1405ADull, 0xA9E377E0D4805215ull,
     0x55D61536459E6E5Cull},
};

TEST_CASE("bytes and values match ggml's own reference (golden digests)",
          "[model][quant]") {
  const std::vector<float> x = GoldenData();
  REQUIRE(std::size(kGolden) == AllGgmlTypes().size());
  for (const Golden& g : kGolden) {
    INFO("type " << GgmlTypeName(g.type));
    const std::string q = QuantizeReference(g.type, x.data(), kGoldenN);
    CHECK(Fnv1a64(q.data(), q.size()) == g.quantized);
    CHECK(FloatDigest(DequantizeReference(g.type, q.data(), kGoldenN)) ==
          g.round_trip);
    const std::string r = RandomBlocks(g.type, 1024, 99);
    CHECK(FloatDigest(DequantizeReference(g.type, r.data(), 1024)) ==
          g.random_decoded);
  }
}

}  // namespace
}  // namespace fm::model::testing
