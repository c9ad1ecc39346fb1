// ModelServiceImpl: the Session reactor (read -> compute -> write), session
// limits, idle reaping and Info.
#include "services/model/model_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/process_stats.h"

namespace fm::model {

// One Session stream. Exactly one operation is outstanding at a time
// (a read, the computation, or a write), tracked by `state_` under `mu_`
// so that the idle reaper can never race a request.
class ModelServiceImpl::SessionReactor final
    : public grpc::ServerBidiReactor<fm::v1::SessionRequest,
                                     fm::v1::SessionResponse> {
 public:
  SessionReactor(ModelServiceImpl* service, bool admitted)
      : service_(service), admitted_(admitted) {
    if (!admitted_) {
      Finish(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("model: server busy: ", service_->options_.max_sessions,
                       " sessions open (max ", service_->options_.max_sessions,
                       ", --max_sessions)")));
      return;
    }
    cache_ = service_->model_->NewKvCache(service_->options_.max_sequences);
    last_active_ = absl::Now();
    service_->Register(this);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (!ok) {  // the client closed its side, or the call broke
      FinishLocked(grpc::Status::OK);
      return;
    }
    state_ = State::kComputing;
    SessionWork work;
    work.cache = cache_.get();
    work.request = &request_;
    work.response = &response_;
    work.max_sequences = service_->options_.max_sequences;
    work.done = [this] { OnComputed(); };
    service_->compute_.Submit(std::move(work));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                                "model: session stream broken"));
      return;
    }
    state_ = State::kReading;
    last_active_ = absl::Now();
    StartRead(&request_);
  }

  void OnDone() override {
    if (admitted_) {
      service_->Unregister(this);
      service_->active_sequences_ -= reported_sequences_;
      service_->kv_bytes_allocated_ -= reported_kv_bytes_;
    }
    delete this;  // frees the KV cache
  }

  // Ends the session when it has been waiting for a request too long.
  void FinishIfIdle(absl::Time now) {
    absl::MutexLock lock(&mu_);
    if (finished_ || state_ != State::kReading) return;
    const absl::Duration idle = now - last_active_;
    if (idle < service_->options_.idle_timeout) return;
    FinishLocked(grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        absl::StrCat("model: session idle for ", absl::FormatDuration(idle),
                     " (--idle_timeout=",
                     absl::FormatDuration(service_->options_.idle_timeout),
                     ")")));
  }

 private:
  enum class State { kReading, kComputing, kWriting };

  // On the compute thread, once the response is filled.
  void OnComputed() {
    absl::MutexLock lock(&mu_);
    const int32_t now = cache_->num_sequences();
    service_->active_sequences_ += now - reported_sequences_;
    reported_sequences_ = now;
    const int64_t kv_bytes = static_cast<int64_t>(cache_->allocated_bytes());
    service_->kv_bytes_allocated_ += kv_bytes - reported_kv_bytes_;
    reported_kv_bytes_ = kv_bytes;
    if (!identified_) {
      response_.set_model_sha256(service_->options_.model_sha256);
      identified_ = true;
    }
    state_ = State::kWriting;
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    Finish(status);
  }

  ModelServiceImpl* service_;
  const bool admitted_;
  std::unique_ptr<KvCache> cache_;
  fm::v1::SessionRequest request_;
  fm::v1::SessionResponse response_;
  int32_t reported_sequences_ = 0;
  int64_t reported_kv_bytes_ = 0;  // this session's share of the total

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kReading;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // The first response carries the model's sha256.
  bool identified_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_active_ ABSL_GUARDED_BY(mu_);
};

ModelServiceImpl::ModelServiceImpl(LlamaModel* model,
                                   ModelServiceOptions options)
    : model_(model),
      options_(std::move(options)),
      compute_(model, options_.debug_step_delay),
      reaper_([this] { ReapIdleSessions(); }) {}

ModelServiceImpl::~ModelServiceImpl() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  reaper_.join();
}

grpc::ServerBidiReactor<fm::v1::SessionRequest, fm::v1::SessionResponse>*
ModelServiceImpl::Session(grpc::CallbackServerContext* ctx) {
  // Admission: reserve a slot or refuse.
  int32_t open = active_sessions_.load();
  bool admitted = false;
  while (open < options_.max_sessions) {
    if (active_sessions_.compare_exchange_weak(open, open + 1)) {
      admitted = true;
      break;
    }
  }
  if (admitted) ++sessions_opened_;
  return new SessionReactor(this, admitted);
}

void ModelServiceImpl::Register(SessionReactor* reactor) {
  absl::MutexLock lock(&mu_);
  sessions_.insert(reactor);
}

void ModelServiceImpl::Unregister(SessionReactor* reactor) {
  {
    absl::MutexLock lock(&mu_);
    sessions_.erase(reactor);
  }
  --active_sessions_;
  ++sessions_closed_;
}

void ModelServiceImpl::ReapIdleSessions() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    const absl::Duration period =
        std::min(absl::Seconds(1), options_.idle_timeout / 4);
    auto stop = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), period)) return;
    const absl::Time now = absl::Now();
    // Finish() completes asynchronously, so OnDone (which takes mu_ in
    // Unregister) never runs inside this loop.
    for (SessionReactor* reactor : sessions_) reactor->FinishIfIdle(now);
  }
}

grpc::ServerUnaryReactor* ModelServiceImpl::Info(
    grpc::CallbackServerContext* ctx, const fm::v1::ModelInfoRequest* request,
    fm::v1::ModelInfo* response) {
  const ModelInfo& info = model_->info();
  response->set_architecture(info.architecture);
  response->set_dim(info.dim);
  response->set_hidden_dim(info.hidden_dim);
  response->set_n_layers(info.n_layers);
  response->set_n_heads(info.n_heads);
  response->set_n_kv_heads(info.n_kv_heads);
  response->set_head_size(info.head_size);
  response->set_vocab_size(info.vocab_size);
  response->set_context_length(info.context_length);
  response->set_rope_theta(info.rope_theta);
  response->set_rms_eps(info.rms_eps);
  response->set_parameters(info.parameter_count);
  response->set_weight_bytes(info.weight_bytes);
  response->set_dtype(info.dtype);
  response->set_flops_per_token_decode(
      static_cast<double>(info.flops_per_token_decode));
  response->set_flops_per_token_prefill(
      static_cast<double>(info.flops_per_token_prefill));
  response->set_kv_bytes_per_token(info.kv_bytes_per_token);
  response->set_active_sessions(active_sessions_.load());
  response->set_active_sequences(active_sequences_.load());
  response->set_format(info.format);
  response->set_model_path(options_.model_path);
  response->set_model_sha256(options_.model_sha256);
  response->set_blas_core(info.blas_core);
  response->set_integer_kernels(info.integer_kernels);
  response->set_threads(info.threads);
  response->set_sessions_opened(sessions_opened_.load());
  response->set_sessions_closed(sessions_closed_.load());
  response->set_file_context_length(info.file_context_length);
  for (const auto& [type, count] : info.tensor_types) {
    (*response->mutable_tensor_types())[type] = count;
  }
  response->set_bits_per_weight(info.bits_per_weight);
  response->set_compute_dtype(info.compute_dtype);
  for (const auto& [name, value] : info.hyperparameters) {
    (*response->mutable_hyperparameters())[name] = value;
  }
  response->set_rope_dim(info.rope_dim);
  response->set_kv_bytes_allocated(kv_bytes_allocated_.load());
  response->set_streamed_bytes_per_token(info.streamed_bytes_per_token);
  response->set_kv_dtype(info.kv_dtype);
  response->set_resident_bytes(ResidentBytes());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace fm::model
