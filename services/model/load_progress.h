// Progress of loading a model, for whoever watches fm-model start: reading
// (and hashing) the file's bytes, then re-laying its tensors for the
// kernels. Both take seconds on a multi-gigabyte file, with nothing else
// to show that the process is alive.
#ifndef FM_SERVICES_MODEL_LOAD_PROGRESS_H_
#define FM_SERVICES_MODEL_LOAD_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fm::model {

class LoadProgress {
 public:
  // On a terminal one line on `out` is rewritten in place (at most every
  // 100 ms); otherwise an info log line is written every `log_period`.
  LoadProgress(FILE* out, bool terminal,
               absl::Duration log_period = absl::Seconds(5));
  // Thread-safe: the tensors are re-laid by the compute pool.
  void Bytes(uint64_t done, uint64_t total);
  void Tensors(int64_t done, int64_t total);
  // Ends the terminal line and logs what was loaded in how long.
  void Finish();

 private:
  // `last`: the phase is complete (always shown).
  void Report(const std::string& line, bool last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FILE* out_;
  bool terminal_;
  absl::Duration period_;
  absl::Time start_ = absl::Now();
  std::mutex mu_;
  // The first report comes one period after the start.
  absl::Time last_report_ ABSL_GUARDED_BY(mu_) = start_;
  bool line_open_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_LOAD_PROGRESS_H_
