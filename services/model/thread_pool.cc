// ThreadPool: workers spin briefly on a generation counter (a decode step
// issues ~100 parallel loops, so wake-up latency matters), then block.
#include "services/model/thread_pool.h"

#include <immintrin.h>

#include <algorithm>

namespace fm::model {
namespace {

// How long a worker spins (pause instructions) before it blocks.
constexpr int kSpinIterations = 4000;
// How long the caller spins waiting for the last chunks before it starts
// yielding its CPU (to a worker that was preempted, for instance).
constexpr int kWaitSpins = 2000;
// Each chunk takes this share of the rows not yet handed out, per thread:
// large chunks first, then smaller and smaller ones (down to the grain),
// so that the thread that finishes last waits only for a small chunk. Two
// threads streaming a 3 MB matrix in 8 equal chunks waited ~half a chunk
// (tens of microseconds) at the end of every product.
constexpr int64_t kShareDivisor = 2;

}  // namespace

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;
  // Chunk c is [bounds[c], bounds[c + 1]): fixed before any thread runs,
  // so the chunks do not depend on timing (only who runs them does).
  std::vector<int64_t> bounds;
  int64_t n_chunks = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
};

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks(Job& job, int index) {
  // The chunks this thread ran, published once at the end: a shared
  // counter bumped per chunk bounces its cache line between the cores
  // twice per chunk.
  int64_t ran = 0;
  for (;;) {
    const int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.n_chunks) break;
    (*job.fn)(job.bounds[c], job.bounds[c + 1], index);
    ++ran;
  }
  if (ran > 0) job.done.fetch_add(ran, std::memory_order_acq_rel);
}

void ThreadPool::ParallelFor(
    int64_t n, int64_t grain,
    const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n, 0);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->bounds.push_back(0);
  for (int64_t pos = 0; pos < n;) {
    const int64_t share = (n - pos) / (kShareDivisor * n_threads_);
    const int64_t size = std::max(grain, (share + grain - 1) / grain * grain);
    pos = std::min(n, pos + size);
    job->bounds.push_back(pos);
  }
  job->n_chunks = static_cast<int64_t>(job->bounds.size()) - 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = job;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  RunChunks(*job, 0);
  int spins = 0;
  while (job->done.load(std::memory_order_acquire) < job->n_chunks) {
    if (++spins < kWaitSpins) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen &&
           spins < kSpinIterations) {
      _mm_pause();
      ++spins;
    }
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      if (stop_) return;
      job = job_;
    }
    // A job that finished before this worker woke has no chunks left.
    if (job != nullptr) RunChunks(*job, index);
  }
}

}  // namespace fm::model
