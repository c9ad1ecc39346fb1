// ThreadPool: a fixed set of workers for ParallelFor over the rows of one
// matrix product or over attention heads; the caller thread takes a share.
#ifndef FM_SERVICES_MODEL_THREAD_POOL_H_
#define FM_SERVICES_MODEL_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fm::model {

class ThreadPool {
 public:
  // Starts n_threads - 1 workers (n_threads <= 1: everything runs inline).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) over chunks covering [0, n) (chunk
  // boundaries multiples of `grain`, the same for the same n and grain),
  // on the calling thread (index 0) and the workers (1..n_threads-1);
  // returns when all chunks are done. Chunks shrink from a large first one
  // to `grain` and are claimed dynamically, so a worker that the OS does
  // not schedule in time does not hold the loop up: the others take its
  // share. Not re-entrant: call from one thread at a time (the model's
  // compute thread).
  void ParallelFor(int64_t n, int64_t grain,
                   const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  struct Job;
  void WorkerLoop(int index);
  static void RunChunks(Job& job, int index);

  const int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Bumped for every ParallelFor; workers run when they see a new value.
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;         // guarded by mu_
  std::shared_ptr<Job> job_;  // guarded by mu_; the latest job
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_THREAD_POOL_H_
