// Fast kernels over candidate sets; see candidate_ops.h. Reductions use 8
// fixed lanes, so SIMD and scalar builds give bit-identical results.
#include "services/sampler/candidate_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FM_SAMPLER_HAVE_AVX2_PATH 1
#endif

namespace fm::sampler {
namespace {

constexpr size_t kLanes = 8;

// Orders candidates highest logit first; ties by lower id (deterministic).
inline bool Higher(const TokenData& a, const TokenData& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

float MaxOfStrided(const TokenData* data, size_t n) {
  float lanes[kLanes];
  for (size_t j = 0; j < kLanes; ++j) lanes[j] = kNegInf;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float v = data[i + j].logit;
      lanes[j] = v > lanes[j] ? v : lanes[j];
    }
  }
  float best = kNegInf;
  for (; i < n; ++i) best = std::max(best, data[i].logit);
  for (size_t j = 0; j < kLanes; ++j) best = std::max(best, lanes[j]);
  return best;
}

// (n) contiguous copy of the logits of an AoS candidate set, per thread.
std::vector<float>& Scratch(size_t n) {
  thread_local std::vector<float> scratch;
  if (scratch.size() < n) scratch.resize(n);
  return scratch;
}

#if defined(__SSE2__)
// FastExp on four lanes, operation for operation the scalar version.
inline __m128 FastExp4(__m128 x) {
  const __m128 underflow = _mm_cmplt_ps(x, _mm_set1_ps(-87.0f));
  x = _mm_max_ps(x, _mm_set1_ps(-87.0f));
  x = _mm_min_ps(x, _mm_set1_ps(88.0f));
  const __m128 shifted =
      _mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)),
                 _mm_set1_ps(12582912.0f));
  const __m128 n = _mm_sub_ps(shifted, _mm_set1_ps(12582912.0f));
  const __m128 r =
      _mm_add_ps(_mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693359375f))),
                 _mm_mul_ps(n, _mm_set1_ps(2.12194440e-4f)));
  __m128 p = _mm_set1_ps(1.9875691500e-4f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.3981999507e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(8.3334519073e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(4.1665795894e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.6666665459e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(5.0000001201e-1f));
  const __m128 y = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r),
                              _mm_set1_ps(1.0f));
  const __m128i bits = _mm_slli_epi32(
      _mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23);
  const __m128 result = _mm_mul_ps(y, _mm_castsi128_ps(bits));
  return _mm_andnot_ps(underflow, result);
}
#endif

// Keeps a min-heap of the n best entries of a stream; `out` ends sorted.
template <typename Get>
void SelectTop(size_t total, size_t n, Get get, std::vector<TokenData>* out) {
  out->clear();
  if (n == 0 || total == 0) return;
  n = std::min(n, total);
  auto worse_on_top = [](const TokenData& a, const TokenData& b) {
    return Higher(a, b);
  };
  for (size_t i = 0; i < n; ++i) out->push_back(get(i));
  std::make_heap(out->begin(), out->end(), worse_on_top);
  TokenData worst = out->front();
  for (size_t i = n; i < total; ++i) {
    const TokenData candidate = get(i);
    if (candidate.logit < worst.logit) continue;  // The common, cheap case.
    if (!Higher(candidate, worst)) continue;
    std::pop_heap(out->begin(), out->end(), worse_on_top);
    out->back() = candidate;
    std::push_heap(out->begin(), out->end(), worse_on_top);
    worst = out->front();
  }
  std::sort_heap(out->begin(), out->end(), worse_on_top);
}

}  // namespace

float MaxLogit(const TokenCandidates& candidates) {
  if (candidates.data.empty()) return kNegInf;
  if (candidates.sorted) return candidates.data.front().logit;
  return MaxOfStrided(candidates.data.data(), candidates.data.size());
}

float MaxOf(const float* v, size_t n) {
  size_t i = 0;
  float best = kNegInf;
#if defined(__SSE2__)
  __m128 a = _mm_set1_ps(kNegInf);
  __m128 b = a;
  for (; i + kLanes <= n; i += kLanes) {
    a = _mm_max_ps(a, _mm_loadu_ps(v + i));
    b = _mm_max_ps(b, _mm_loadu_ps(v + i + 4));
  }
  float lanes[kLanes];
  _mm_storeu_ps(lanes, a);
  _mm_storeu_ps(lanes + 4, b);
  for (size_t j = 0; j < kLanes; ++j) best = std::max(best, lanes[j]);
#endif
  for (; i < n; ++i) best = std::max(best, v[i]);
  return best;
}

namespace {

#if defined(FM_SAMPLER_HAVE_AVX2_PATH)
// FastExp on eight lanes with AVX2 (no FMA, so no contraction): operation for
// operation FastExp4 and the scalar FastExp.
__attribute__((target("avx2"))) inline __m256 FastExp8(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
  const __m256 shifted =
      _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                    _mm256_set1_ps(12582912.0f));
  const __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(12582912.0f));
  const __m256 r = _mm256_add_ps(
      _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f))),
      _mm256_mul_ps(n, _mm256_set1_ps(2.12194440e-4f)));
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
  const __m256 y =
      _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, r), r), r),
                    _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(underflow, result);
}

// The 8-lane main loop of ExpShiftSum with AVX2; returns the index reached.
__attribute__((target("avx2"))) size_t ExpShiftLanesAvx2(const float* in,
                                                         float* out, size_t n,
                                                         float shift,
                                                         float* lanes) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 e = FastExp8(_mm256_sub_ps(_mm256_loadu_ps(in + i), s));
    if (out != nullptr) _mm256_storeu_ps(out + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  _mm256_storeu_ps(lanes, acc);
  return i;
}

// FM_SAMPLER_DISABLE_AVX2 (any value) forces the SSE2 path, so tests can
// check that both give identical bits.
bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") &&
                          std::getenv("FM_SAMPLER_DISABLE_AVX2") == nullptr;
  return has;
}
#endif

}  // namespace

float ExpShiftSum(const float* in, float* out, size_t n, float shift) {
  float lanes[kLanes] = {};
  size_t i = 0;
#if defined(FM_SAMPLER_HAVE_AVX2_PATH)
  if (HasAvx2()) {
    i = ExpShiftLanesAvx2(in, out, n, shift, lanes);
  } else
#endif
#if defined(__SSE2__)
  {
    const __m128 s = _mm_set1_ps(shift);
    __m128 acc0 = _mm_setzero_ps();
    __m128 acc1 = _mm_setzero_ps();
    for (; i + kLanes <= n; i += kLanes) {
      const __m128 e0 = FastExp4(_mm_sub_ps(_mm_loadu_ps(in + i), s));
      const __m128 e1 = FastExp4(_mm_sub_ps(_mm_loadu_ps(in + i + 4), s));
      if (out != nullptr) {
        _mm_storeu_ps(out + i, e0);
        _mm_storeu_ps(out + i + 4, e1);
      }
      acc0 = _mm_add_ps(acc0, e0);
      acc1 = _mm_add_ps(acc1, e1);
    }
    _mm_storeu_ps(lanes, acc0);
    _mm_storeu_ps(lanes + 4, acc1);
  }
#else
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float e = FastExp(in[i + j] - shift);
      if (out != nullptr) out[i + j] = e;
      lanes[j] += e;
    }
  }
#endif
  float sum = 0.0f;
  for (; i < n; ++i) {
    const float e = FastExp(in[i] - shift);
    if (out != nullptr) out[i] = e;
    sum += e;
  }
  for (size_t j = 0; j < kLanes; ++j) sum += lanes[j];
  return sum;
}

float Softmax(TokenCandidates& candidates) {
  TokenData* data = candidates.data.data();
  const size_t n = candidates.data.size();
  const float max_logit = MaxLogit(candidates);
  if (max_logit == kNegInf) {
    for (size_t i = 0; i < n; ++i) data[i].prob = 0.0f;
    return max_logit;
  }
  float* scratch = Scratch(n).data();
  for (size_t i = 0; i < n; ++i) scratch[i] = data[i].logit;
  // sum >= 1: the max contributes exp(0).
  const float inv = 1.0f / ExpShiftSum(scratch, scratch, n, max_logit);
  for (size_t i = 0; i < n; ++i) data[i].prob = scratch[i] * inv;
  return max_logit;
}

double LogSumExp(const TokenCandidates& candidates) {
  const TokenData* data = candidates.data.data();
  const size_t n = candidates.data.size();
  const float max_logit = MaxLogit(candidates);
  if (max_logit == kNegInf) return -std::numeric_limits<double>::infinity();
  float* scratch = Scratch(n).data();
  for (size_t i = 0; i < n; ++i) scratch[i] = data[i].logit;
  const float sum = ExpShiftSum(scratch, nullptr, n, max_logit);
  return static_cast<double>(max_logit) + std::log(static_cast<double>(sum));
}

double LogSumExp(absl::Span<const float> logits) {
  const float max_logit = MaxOf(logits.data(), logits.size());
  if (max_logit == kNegInf) return -std::numeric_limits<double>::infinity();
  const float sum =
      ExpShiftSum(logits.data(), nullptr, logits.size(), max_logit);
  return static_cast<double>(max_logit) + std::log(static_cast<double>(sum));
}

void TopOfArray(const float* v, size_t total, size_t k,
                std::vector<TokenData>* out) {
  out->clear();
  if (k == 0 || total == 0) return;
  k = std::min(k, total);
  auto worse_on_top = [](const TokenData& a, const TokenData& b) {
    return Higher(a, b);
  };
  for (size_t i = 0; i < k; ++i) {
    out->push_back({static_cast<TokenId>(i), v[i], 0.0f});
  }
  std::make_heap(out->begin(), out->end(), worse_on_top);
  float worst = out->front().logit;
  // Later entries have higher ids than anything in the heap, so only a
  // strictly higher value can displace its worst.
  auto consider = [&](size_t i) {
    if (!(v[i] > worst)) return;
    std::pop_heap(out->begin(), out->end(), worse_on_top);
    out->back() = {static_cast<TokenId>(i), v[i], 0.0f};
    std::push_heap(out->begin(), out->end(), worse_on_top);
    worst = out->front().logit;
  };
  size_t i = k;
#if defined(__SSE2__)
  constexpr size_t kBlock = 16;
  for (; i + kBlock <= total; i += kBlock) {
    const __m128 t = _mm_set1_ps(worst);
    const __m128 m =
        _mm_or_ps(_mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(v + i), t),
                            _mm_cmpgt_ps(_mm_loadu_ps(v + i + 4), t)),
                  _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(v + i + 8), t),
                            _mm_cmpgt_ps(_mm_loadu_ps(v + i + 12), t)));
    if (_mm_movemask_ps(m) == 0) continue;
    for (size_t j = i; j < i + kBlock; ++j) consider(j);
  }
#endif
  for (; i < total; ++i) consider(i);
  std::sort_heap(out->begin(), out->end(), worse_on_top);
}

int64_t DrawFromProbs(const TokenCandidates& candidates, double u) {
  const TokenData* data = candidates.data.data();
  const int64_t n = static_cast<int64_t>(candidates.data.size());
  double cumulative = 0.0;
  int64_t last_nonzero = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (data[i].prob <= 0.0f) continue;
    cumulative += data[i].prob;
    last_nonzero = i;
    if (cumulative > u) return i;
  }
  return last_nonzero;
}

void KeepTopK(TokenCandidates& candidates, size_t k,
              std::vector<TokenData>& scratch) {
  std::vector<TokenData>& data = candidates.data;
  if (k >= data.size()) {
    if (!candidates.sorted && data.size() > 1) {
      std::sort(data.begin(), data.end(), Higher);
      candidates.dense = false;
    }
    candidates.sorted = true;
    return;
  }
  if (candidates.sorted) {
    data.resize(k);
    candidates.dense = false;
    return;
  }
  const TokenData* source = data.data();
  SelectTop(
      data.size(), k, [source](size_t i) { return source[i]; }, &scratch);
  std::copy(scratch.begin(), scratch.end(), data.begin());
  data.resize(k);
  candidates.sorted = true;
  candidates.dense = false;
}

void PartialSortDescending(TokenCandidates& candidates, size_t k) {
  std::vector<TokenData>& data = candidates.data;
  if (candidates.sorted) return;
  candidates.dense = false;
  if (k >= data.size()) {
    std::sort(data.begin(), data.end(), Higher);
    candidates.sorted = true;
    return;
  }
  std::nth_element(data.begin(), data.begin() + k, data.end(), Higher);
  std::sort(data.begin(), data.begin() + k, Higher);
}

void TopByLogit(const TokenCandidates& candidates, size_t n,
                std::vector<TokenData>* out) {
  const TokenData* source = candidates.data.data();
  if (candidates.sorted) {
    n = std::min(n, candidates.data.size());
    out->assign(source, source + n);
    return;
  }
  SelectTop(
      candidates.data.size(), n, [source](size_t i) { return source[i]; }, out);
}

void ScaleLogits(float* v, size_t n, float inv) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128 scale = _mm_set1_ps(inv);
  const __m128 max = _mm_set1_ps(std::numeric_limits<float>::max());
  const __m128 lowest = _mm_set1_ps(-std::numeric_limits<float>::max());
  const __m128 neg_inf = _mm_set1_ps(kNegInf);
  for (; i + 4 <= n; i += 4) {
    const __m128 logit = _mm_loadu_ps(v + i);
    const __m128 scaled =
        _mm_max_ps(_mm_min_ps(_mm_mul_ps(logit, scale), max), lowest);
    const __m128 banned = _mm_cmpeq_ps(logit, neg_inf);
    _mm_storeu_ps(v + i, _mm_or_ps(_mm_and_ps(banned, neg_inf),
                                   _mm_andnot_ps(banned, scaled)));
  }
#endif
  for (; i < n; ++i) v[i] = ScaleLogit(v[i], inv);
}

void CollectAtLeast(const float* v, size_t n, float threshold,
                    std::vector<TokenData>* out) {
  size_t i = 0;
#if defined(__SSE2__)
  constexpr size_t kBlock = 16;
  const __m128 t = _mm_set1_ps(threshold);
  for (; i + kBlock <= n; i += kBlock) {
    const __m128 m =
        _mm_or_ps(_mm_or_ps(_mm_cmpge_ps(_mm_loadu_ps(v + i), t),
                            _mm_cmpge_ps(_mm_loadu_ps(v + i + 4), t)),
                  _mm_or_ps(_mm_cmpge_ps(_mm_loadu_ps(v + i + 8), t),
                            _mm_cmpge_ps(_mm_loadu_ps(v + i + 12), t)));
    if (_mm_movemask_ps(m) == 0) continue;
    for (size_t j = i; j < i + kBlock; ++j) {
      if (v[j] >= threshold) {
        out->push_back({static_cast<TokenId>(j), v[j], 0.0f});
      }
    }
  }
#endif
  for (; i < n; ++i) {
    if (v[i] >= threshold) {
      out->push_back({static_cast<TokenId>(i), v[i], 0.0f});
    }
  }
}

void TopOfLogits(absl::Span<const float> logits, size_t n,
                 std::vector<TokenData>* out) {
  TopOfArray(logits.data(), logits.size(), n, out);
}

}  // namespace fm::sampler
