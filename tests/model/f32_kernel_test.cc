// The batched F32 kernel against a double-precision dot product, at every
// alignment of the weights (the AVX-512 path rebuilds shifted rows from
// aligned loads) and every batch size up to kMaxKernelRows; and attention's
// scores and weighted sum, over F32 and F16 caches.
#include "services/model/f32_kernel.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/half.h"
#include "services/model/aligned_vector.h"
#include "services/model/kv_attention.h"

namespace fm::model {
namespace {

double DotRef(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

TEST_CASE("F32 kernel matches a double dot product at every alignment",
          "[model][f32_kernel]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  constexpr int64_t kMaxN = 16;
  for (int64_t cols : {16, 40, 64, 172, 512, 520}) {
    constexpr int64_t kRows = 13;  // not a multiple of the 4-row tiles
    // Room for every shift of 0..15 floats from a 64-byte boundary.
    AlignedVector<float> storage(kRows * cols + 16);
    for (float& v : storage) v = dist(rng);
    AlignedVector<float> x(kMaxN * cols);
    for (float& v : x) v = dist(rng);
    for (int shift = 0; shift < 16; ++shift) {
      const float* w = storage.data() + shift;
      // Each input alone: the reference for the batched results.
      std::vector<float> alone(kMaxN * kRows);
      for (int64_t i = 0; i < kMaxN; ++i) {
        MatMulF32Rows(w, x.data() + i * cols, 1, kRows, cols, 0, kRows,
                      alone.data() + i * kRows);
        for (int64_t r = 0; r < kRows; ++r) {
          const double ref = DotRef(w + r * cols, x.data() + i * cols, cols);
          REQUIRE(std::fabs(alone[i * kRows + r] - ref) <=
                  1e-4 * (1.0 + std::fabs(ref)));
        }
      }
      for (int64_t n = 2; n <= kMaxN; ++n) {
        // Rows in two uneven slices, as the thread pool splits them.
        std::vector<float> out(n * kRows, NAN);
        MatMulF32Rows(w, x.data(), n, kRows, cols, 0, 6, out.data());
        MatMulF32Rows(w, x.data(), n, kRows, cols, 6, kRows, out.data());
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t r = 0; r < kRows; ++r) {
            INFO("cols " << cols << " shift " << shift << " n " << n
                         << " input " << i << " row " << r);
            // Bit-identical: batching never changes a result.
            REQUIRE(out[i * kRows + r] == alone[i * kRows + r]);
          }
        }
      }
    }
  }
}

TEST_CASE("attention scores and mix match double arithmetic",
          "[model][f32_kernel]") {
  std::mt19937 rng(12);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t head_size : {8, 48, 64, 72, 128, 136}) {
    for (int64_t n_pos : {1, 2, 3, 4, 5, 9, 33}) {
      const int64_t stride = head_size * 3 + 5;  // heads interleaved
      std::vector<float> q(head_size), cache(n_pos * stride), w(n_pos);
      for (float& v : q) v = dist(rng);
      for (float& v : cache) v = dist(rng);
      for (float& v : w) v = dist(rng);
      INFO("head_size " << head_size << " n_pos " << n_pos);
      std::vector<float> scores(n_pos);
      AttentionScores(q.data(), cache.data(), stride, n_pos, head_size, 0.125f,
                      scores.data());
      for (int64_t t = 0; t < n_pos; ++t) {
        const double ref =
            0.125 * DotRef(q.data(), cache.data() + t * stride, head_size);
        CHECK(std::fabs(scores[t] - ref) <= 1e-5 * (1.0 + std::fabs(ref)));
      }
      std::vector<float> out(head_size, NAN);
      AttentionMix(w.data(), cache.data(), stride, n_pos, head_size,
                   out.data());
      for (int64_t i = 0; i < head_size; ++i) {
        double ref = 0.0;
        for (int64_t t = 0; t < n_pos; ++t) {
          ref += static_cast<double>(w[t]) * cache[t * stride + i];
        }
        CHECK(std::fabs(out[i] - ref) <= 1e-5 * (1.0 + std::fabs(ref)));
      }
    }
  }
}

TEST_CASE("F16-cache attention matches double arithmetic, position by position",
          "[model][f32_kernel]") {
  std::mt19937 rng(13);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t head_size : {8, 64, 72, 128}) {
    for (int64_t n_pos : {1, 7, 8, 9, 16, 17, 33, 70}) {
      const int64_t stride = head_size * 3 + 8;  // heads interleaved
      std::vector<float> q(head_size), w(n_pos);
      std::vector<uint16_t> cache(n_pos * stride);
      for (float& v : q) v = dist(rng);
      for (uint16_t& v : cache) v = F32ToF16(dist(rng));
      for (float& v : w) v = dist(rng);
      INFO("head_size " << head_size << " n_pos " << n_pos);
      std::vector<float> scores(n_pos);
      AttentionScoresF16(q.data(), cache.data(), stride, n_pos, head_size,
                         0.125f, scores.data());
      for (int64_t t = 0; t < n_pos; ++t) {
        double dot = 0.0;
        for (int64_t i = 0; i < head_size; ++i) {
          dot += static_cast<double>(q[i]) * F16ToF32(cache[t * stride + i]);
        }
        CHECK(std::fabs(scores[t] - 0.125 * dot) <=
              1e-5 * (1.0 + std::fabs(dot)));
        // The same bits as when position t is scored alone: a score does
        // not depend on how many positions one call takes.
        float alone = NAN;
        AttentionScoresF16(q.data(), cache.data() + t * stride, stride, 1,
                           head_size, 0.125f, &alone);
        CHECK(std::memcmp(&alone, &scores[t], sizeof(float)) == 0);
      }
      std::vector<float> out(head_size, NAN);
      AttentionMixF16(w.data(), cache.data(), stride, n_pos, head_size,
                      out.data());
      for (int64_t i = 0; i < head_size; ++i) {
        double ref = 0.0;
        for (int64_t t = 0; t < n_pos; ++t) {
          ref += static_cast<double>(w[t]) * F16ToF32(cache[t * stride + i]);
        }
        CHECK(std::fabs(out[i] - ref) <= 1e-5 * (1.0 + std::fabs(ref)));
      }
    }
  }
}

}  // namespace
}  // namespace fm::model
