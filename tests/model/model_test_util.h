// Small helpers shared by the model tests: logit comparison, argmax and
// temporary model paths.
#ifndef FM_TESTS_MODEL_MODEL_TEST_UTIL_H_
#define FM_TESTS_MODEL_MODEL_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/test_env.h"

namespace fm::model::testing {

// max_i |a_i - b_i| / max_i |b_i|: the error relative to the logit scale
// (an element-wise ratio is meaningless for logits near zero). Sizes must
// match, else returns infinity.
inline double MaxRelErr(const std::vector<float>& a,
                        const std::vector<float>& b) {
  if (a.size() != b.size() || b.empty()) return INFINITY;
  double max_diff = 0.0, max_ref = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(a[i]) - double(b[i])));
    max_ref = std::max(max_ref, std::fabs(double(b[i])));
  }
  return max_ref > 0.0 ? max_diff / max_ref : max_diff;
}

inline int32_t ArgMax(const float* v, int64_t n) {
  return static_cast<int32_t>(std::max_element(v, v + n) - v);
}
inline int32_t ArgMax(const std::vector<float>& v) {
  return ArgMax(v.data(), static_cast<int64_t>(v.size()));
}

// A fixed pseudo-random prompt of n ids in [0, vocab) (an LCG from seed).
inline std::vector<int32_t> Tokens(int n, int vocab, int seed,
                                   uint32_t base = 12345u) {
  std::vector<int32_t> t;
  uint32_t s = base + seed;
  for (int i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    t.push_back(static_cast<int32_t>((s >> 8) % vocab));
  }
  return t;
}

// A path in a per-process temporary directory.
inline std::string TempPath(const std::string& name) {
  static const std::string dir = ::fm::testing::MakeTempDir();
  return dir + "/" + name;
}

}  // namespace fm::model::testing

#endif  // FM_TESTS_MODEL_MODEL_TEST_UTIL_H_
