// Executor: a fixed pool of worker threads that runs submitted tasks, so
// that gRPC reactions never compute or block on callback threads.
#ifndef FM_COMMON_EXECUTOR_H_
#define FM_COMMON_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace fm {

class Executor {
 public:
  // Starts `threads` (>= 1) workers. Submit() refuses tasks beyond
  // `max_queue` waiting ones.
  Executor(int threads, size_t max_queue = 4096);
  // Runs the tasks already queued, then joins the workers.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; returns false (and drops it) when the queue is full or
  // the executor is shutting down. Thread-safe.
  bool Submit(std::function<void()> task);

 private:
  void WorkerLoop();

  const size_t max_queue_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace fm

#endif  // FM_COMMON_EXECUTOR_H_
