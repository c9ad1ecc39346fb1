// ThreadPool::ParallelFor: the chunks cover [0, n) once each, start on
// multiples of the grain, shrink from a large first chunk to the grain
// (so the thread that finishes last waits only for a small one), and do
// not depend on timing.
#include <catch2/catch.hpp>
#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "services/model/thread_pool.h"

namespace fm::model {
namespace {

// The chunks of one ParallelFor, sorted; recorded under a lock by whichever
// thread ran them and checked on the test's thread.
std::vector<std::pair<int64_t, int64_t>> Chunks(ThreadPool& pool, int64_t n,
                                                int64_t grain) {
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  pool.ParallelFor(n, grain, [&](int64_t b, int64_t e, int) {
    std::lock_guard<std::mutex> lock(mu);
    chunks.emplace_back(b, e);
  });
  std::sort(chunks.begin(), chunks.end());
  return chunks;
}

TEST_CASE("ParallelFor chunks cover the range once and shrink to the grain",
          "[model][thread_pool]") {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (auto [n, grain] : {std::pair<int64_t, int64_t>{1, 1}, {7, 16},
                            {100, 1}, {4096, 16}, {32000, 16}, {2305, 8}}) {
      INFO("threads " << threads << " n " << n << " grain " << grain);
      const auto chunks = Chunks(pool, n, grain);
      REQUIRE_FALSE(chunks.empty());
      CHECK(chunks.front().first == 0);
      CHECK(chunks.back().second == n);
      for (size_t c = 0; c < chunks.size(); ++c) {
        CHECK(chunks[c].first < chunks[c].second);
        CHECK(chunks[c].first % grain == 0);
        if (c > 0) CHECK(chunks[c].first == chunks[c - 1].second);
      }
      // The same bounds however the threads ran them.
      CHECK(Chunks(pool, n, grain) == chunks);
      if (threads > 1 && n >= 64 * grain) {
        // Large chunks first, down to the grain at the end.
        const int64_t first = chunks.front().second - chunks.front().first;
        const int64_t last = chunks.back().second - chunks.back().first;
        CHECK(first >= n / (4 * threads));
        CHECK(last <= grain);
      }
    }
  }
}

}  // namespace
}  // namespace fm::model
