// ModelServiceImpl: fm.v1.ModelService. Each Session stream owns a KvCache
// for its whole life; requests go to the single ComputeLoop, which batches
// them across sessions.
#ifndef FM_SERVICES_MODEL_MODEL_SERVICE_H_
#define FM_SERVICES_MODEL_MODEL_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fm/v1/model.grpc.pb.h"
#include "services/model/compute_loop.h"
#include "services/model/llama_model.h"

namespace fm::model {

struct ModelServiceOptions {
  // Open Session streams at once; more get RESOURCE_EXHAUSTED.
  int32_t max_sessions = 64;
  // Sequences per session (and the bound on sequence ids).
  int32_t max_sequences = 16;
  // A session with no request for this long is ended DEADLINE_EXCEEDED.
  absl::Duration idle_timeout = absl::Minutes(5);
  // Sleep after every forward batch (fault-injection and demo knob).
  absl::Duration debug_step_delay = absl::ZeroDuration();
  // Reported by Info.
  std::string model_path;
  std::string model_sha256;
};

class ModelServiceImpl final : public fm::v1::ModelService::CallbackService {
 public:
  // `model` must outlive the service.
  ModelServiceImpl(LlamaModel* model, ModelServiceOptions options);
  ~ModelServiceImpl() override;

  grpc::ServerBidiReactor<fm::v1::SessionRequest, fm::v1::SessionResponse>*
  Session(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx,
                                 const fm::v1::ModelInfoRequest* request,
                                 fm::v1::ModelInfo* response) override;

  // For metrics (read at scrape time).
  int32_t active_sessions() const { return active_sessions_.load(); }
  int32_t active_sequences() const { return active_sequences_.load(); }
  int64_t kv_cache_bytes() const { return kv_bytes_allocated_.load(); }
  int64_t sessions_opened() const { return sessions_opened_.load(); }
  int64_t sessions_closed() const { return sessions_closed_.load(); }

 private:
  class SessionReactor;

  void Register(SessionReactor* reactor);
  void Unregister(SessionReactor* reactor);
  void ReapIdleSessions();

  LlamaModel* model_;
  const ModelServiceOptions options_;
  ComputeLoop compute_;

  std::atomic<int32_t> active_sessions_{0};
  std::atomic<int32_t> active_sequences_{0};
  std::atomic<int64_t> kv_bytes_allocated_{0};  // over all sessions
  std::atomic<int64_t> sessions_opened_{0};
  std::atomic<int64_t> sessions_closed_{0};

  absl::Mutex mu_;
  std::set<SessionReactor*> sessions_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_MODEL_SERVICE_H_
