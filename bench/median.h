// Median of benchmark samples: the benchmarks here report medians of
// repeated (paired) windows, because this host's speed moves by tens of
// percent from one second to the next.
#ifndef FM_BENCH_MEDIAN_H_
#define FM_BENCH_MEDIAN_H_

#include <algorithm>
#include <vector>

namespace fm::bench {

// The middle value (the mean of the two middle ones for an even count);
// 0 for no samples.
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace fm::bench

#endif  // FM_BENCH_MEDIAN_H_
