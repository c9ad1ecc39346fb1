// ComputeLoop: the model service's single compute thread. It takes every
// session request that is ready, validates each as a whole, and runs the
// appends of all of them as one batched forward pass, so the weights are
// streamed once per batch rather than once per sequence.
#ifndef FM_SERVICES_MODEL_COMPUTE_LOOP_H_
#define FM_SERVICES_MODEL_COMPUTE_LOOP_H_

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fm/v1/model.pb.h"
#include "services/model/kv_cache.h"
#include "services/model/llama_model.h"

namespace fm::model {

// One session request waiting for the compute thread.
struct SessionWork {
  KvCache* cache = nullptr;                         // the session's; not owned
  const fm::v1::SessionRequest* request = nullptr;  // not owned
  fm::v1::SessionResponse* response = nullptr;      // filled; not owned
  int32_t max_sequences = 0;                        // <= 0: unlimited
  // Called on the compute thread once `response` is complete (answered
  // or carrying `error`). Must not block.
  std::function<void()> done;
};

// Checks a whole request against the session's current sequences, by
// simulating its ops in order, so that either all ops apply or none does.
// INVALID_ARGUMENT / NOT_FOUND / OUT_OF_RANGE / RESOURCE_EXHAUSTED name the
// op index, the field, the value and the limit.
absl::Status ValidateSessionRequest(KvCache& cache, int32_t max_sequences,
                                    const ModelInfo& info,
                                    const fm::v1::SessionRequest& request);

class ComputeLoop {
 public:
  // `model` must outlive the loop. `step_delay` > 0 sleeps that long after
  // every batch: a fault-injection knob (--debug_step_delay) that makes a
  // tiny model stream slowly enough for cancellation and failover tests.
  explicit ComputeLoop(LlamaModel* model,
                       absl::Duration step_delay = absl::ZeroDuration());
  // Finishes the batch in progress and answers nothing more.
  ~ComputeLoop();
  ComputeLoop(const ComputeLoop&) = delete;
  ComputeLoop& operator=(const ComputeLoop&) = delete;

  // Queues `work`; thread-safe and non-blocking.
  void Submit(SessionWork work);

  // Sequences in the most recent batch (for Info and the response).
  int32_t last_batch_sequences() const { return last_batch_sequences_; }

 private:
  void Run();
  void RunBatch(std::vector<SessionWork>& batch);

  LlamaModel* model_;
  const absl::Duration step_delay_;
  absl::Mutex mu_;
  std::vector<SessionWork> queue_ ABSL_GUARDED_BY(mu_);
  // Set by Submit; lets the loop spin briefly for the next request instead
  // of sleeping (see Run).
  std::atomic<bool> has_work_{false};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int32_t> last_batch_sequences_{0};
  std::thread thread_;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_COMPUTE_LOOP_H_
