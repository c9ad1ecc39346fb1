// Shared fast kernels over candidate sets: vectorisable exp and softmax,
// top-k selection without sorting the vocabulary, order-keeping compaction.
#ifndef FM_SERVICES_SAMPLER_CANDIDATE_OPS_H_
#define FM_SERVICES_SAMPLER_CANDIDATE_OPS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "services/sampler/token_candidates.h"

namespace fm::sampler {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// exp(x) for float, Cephes' polynomial (max relative error ~2e-7), written
// without branches or libm calls so loops over it vectorise. Returns exactly
// 0 for x < -87 (including -inf) and saturates at exp(88) above.
inline float FastExp(float x) {
  const bool underflow = x < -87.0f;
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // n = round(x / ln 2), by the 1.5 * 2^23 trick (round to nearest even).
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return underflow ? 0.0f : y * scale;
}

// Vector kernels over contiguous floats (SSE2 where available, identical
// scalar code elsewhere; both give bit-identical results).
// Largest value (-inf for n == 0).
float MaxOf(const float* values, size_t n);
// out[i] = FastExp(in[i] - shift) (out may equal in; out may be null to
// only sum) and returns the sum, accumulated in 8 fixed lanes.
float ExpShiftSum(const float* in, float* out, size_t n, float shift);
// The k highest of values[0, n) as (id = index, logit), highest first (ties:
// lower index); one vectorised pass that skips blocks below the k-th best.
void TopOfArray(const float* values, size_t n, size_t k,
                std::vector<TokenData>* out);

// values[i] *= inv, keeping finite values finite (clamped to +-FLT_MAX)
// and -inf as -inf; vectorised, bit-identical to ScaleLogit.
void ScaleLogits(float* values, size_t n, float inv);
inline float ScaleLogit(float logit, float inv) {
  constexpr float kMax = std::numeric_limits<float>::max();
  float v = logit * inv;
  v = v < kMax ? v : kMax;                // +inf from overflow -> FLT_MAX.
  v = v > -kMax ? v : -kMax;              // -inf from overflow -> -FLT_MAX...
  return logit == kNegInf ? kNegInf : v;  // ...but a banned token stays.
}

// Appends (id = index, logit) for every values[i] >= threshold, in index
// order; vectorised, skipping blocks with no such entry.
void CollectAtLeast(const float* values, size_t n, float threshold,
                    std::vector<TokenData>* out);

// A double clamped into the finite float range (order preserved), so that
// scaling a finite logit never produces inf or NaN.
inline float ClampToFloat(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (value > kMax) return std::numeric_limits<float>::max();
  if (value < -kMax) return std::numeric_limits<float>::lowest();
  return static_cast<float>(value);
}

// Largest logit (-inf for an empty set); O(1) when sorted.
float MaxLogit(const TokenCandidates& candidates);

// Sets every prob to softmax(logit) over the current candidates and returns
// the max logit. All -inf (or empty) gives prob 0 everywhere.
float Softmax(TokenCandidates& candidates);

// log(sum(exp(logit))) over the candidates without touching them; -inf when
// empty or all -inf.
double LogSumExp(const TokenCandidates& candidates);
double LogSumExp(absl::Span<const float> logits);

// Keeps the k highest-logit candidates, sorted (highest first); O(n + k log k)
// with one linear scan, never a sort of the whole set. No-op when k >= size
// and the set is already sorted. `scratch` is reused to avoid allocation.
void KeepTopK(TokenCandidates& candidates, size_t k,
              std::vector<TokenData>& scratch);

// Makes data[0, k) the k highest candidates in sorted order (the rest in no
// order); sets `sorted` when k covers the whole set. Clears `dense`.
void PartialSortDescending(TokenCandidates& candidates, size_t k);

// The n highest-logit candidates, highest first, without modifying the set.
void TopByLogit(const TokenCandidates& candidates, size_t n,
                std::vector<TokenData>* out);
// The n highest entries of a logit vector as (id, logit), highest first.
void TopOfLogits(absl::Span<const float> logits, size_t n,
                 std::vector<TokenData>* out);

// Index of the candidate drawn from the probs (as set by Softmax) with
// uniform u in [0, 1): the first whose cumulative prob exceeds u. Falls back
// to the last candidate with a nonzero prob against rounding; -1 when every
// prob is 0 (or the set is empty).
int64_t DrawFromProbs(const TokenCandidates& candidates, double u);

// Keeps the candidates for which keep(const TokenData&) is true, in order
// (so `sorted` survives). Clears `dense` if anything was removed.
template <typename Predicate>
void KeepIf(TokenCandidates& candidates, Predicate keep) {
  TokenData* data = candidates.data.data();
  const size_t n = candidates.data.size();
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (keep(data[i])) data[out++] = data[i];
  }
  if (out != n) {
    candidates.data.resize(out);
    candidates.dense = false;
  }
}

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_CANDIDATE_OPS_H_
