// The counter-based generator: Philox4x32-10 known answers, reproducibility
// per (seed, sequence, step), and independence across sequences and steps.
#include "services/sampler/rng.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <vector>

#include "services/sampler/sampler_chain.h"

namespace fm::sampler {
namespace {

TEST_CASE("Philox4x32-10 matches Random123s known-answer vectors") {
  using A4 = std::array<uint32_t, 4>;
  using A2 = std::array<uint32_t, 2>;
  CHECK(Rng::Philox(A4{0, 0, 0, 0}, A2{0, 0}) ==
        A4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(Rng::Philox(A4{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                    A2{0xffffffffu, 0xffffffffu}) ==
        A4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(Rng::Philox(A4{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                    A2{0xa4093822u, 0x299f31d0u}) ==
        A4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("the same key gives the same stream") {
  Rng a(42, 3, 17);
  Rng b(42, 3, 17);
  for (int i = 0; i < 100; ++i) REQUIRE(a.NextU32() == b.NextU32());
  Rng c(42, 3, 17);
  Rng d(42, 3, 17);
  for (int i = 0; i < 100; ++i) REQUIRE(c.NextUniform() == d.NextUniform());
}

TEST_CASE("different seeds and sequences and steps give different streams") {
  std::set<uint32_t> firsts;
  for (uint64_t seed : {0ull, 1ull, 1ull << 32}) {
    for (uint32_t sequence : {0u, 1u, 2u}) {
      for (uint64_t step : {0ull, 1ull, 1ull << 32}) {
        Rng rng(seed, sequence, step);
        firsts.insert(rng.NextU32());
      }
    }
  }
  CHECK(firsts.size() == 27);
}

TEST_CASE("uniforms are in the unit interval and evenly spread") {
  constexpr int kBins = 10;
  constexpr int kDraws = 100000;
  int bins[kBins] = {};
  for (int step = 0; step < kDraws / 4; ++step) {
    Rng rng(9, 0, step);
    for (int i = 0; i < 4; ++i) {
      const double u = rng.NextUniform();
      REQUIRE(u >= 0.0);
      REQUIRE(u < 1.0);
      ++bins[static_cast<int>(u * kBins)];
    }
  }
  double chi2 = 0;
  const double e = static_cast<double>(kDraws) / kBins;
  for (int b : bins) chi2 += (b - e) * (b - e) / e;
  CHECK(chi2 < 27.877);  // df 9, p = 0.001.
}

std::vector<float> FlatLogits(int n) {
  std::vector<float> logits(n);
  for (int i = 0; i < n; ++i) logits[i] = 0.01f * static_cast<float>(i % 7);
  return logits;
}

TEST_CASE("same seed-sequence-step key gives the same token") {
  auto chain = BuildChain({{"top_k", {{"k", int64_t{50}}}}, {"dist", {}}});
  REQUIRE(chain.ok());
  auto other = (*chain)->CloneChain();
  const auto logits = FlatLogits(1000);
  SampleOptions options;
  options.accept = false;
  for (uint64_t step = 0; step < 50; ++step) {
    SamplingContext a{Rng(1234, 5, step)};
    SamplingContext b{Rng(1234, 5, step)};
    auto ra = (*chain)->Sample(logits, a, options);
    auto rb = other->Sample(logits, b, options);
    REQUIRE(ra.ok());
    REQUIRE(rb.ok());
    REQUIRE(ra->token == rb->token);
  }
}

TEST_CASE("different sequence indexes draw independently") {
  // Uniform over 4 tokens: two independent streams agree 1/4 of the time.
  auto chain = BuildChain({{"dist", {}}});
  REQUIRE(chain.ok());
  const std::vector<float> logits(4, 0.0f);
  SampleOptions options;
  options.accept = false;
  constexpr int kSteps = 20000;
  int agree = 0;
  int joint[4][4] = {};
  for (int step = 0; step < kSteps; ++step) {
    SamplingContext s0{Rng(77, 0, step)};
    SamplingContext s1{Rng(77, 1, step)};
    const TokenId a = (*chain)->Sample(logits, s0, options)->token;
    const TokenId b = (*chain)->Sample(logits, s1, options)->token;
    agree += a == b;
    ++joint[a][b];
  }
  // Chi-square on the 16 joint cells against the product of uniforms.
  double chi2 = 0;
  const double e = kSteps / 16.0;
  for (auto& row : joint) {
    for (int cell : row) chi2 += (cell - e) * (cell - e) / e;
  }
  CHECK(chi2 < 37.697);  // df 15, p = 0.001.
  CHECK(std::abs(agree / static_cast<double>(kSteps) - 0.25) < 0.02);
}

}  // namespace
}  // namespace fm::sampler
