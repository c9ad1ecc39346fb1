// GatewayServiceImpl: admission, the Generate write reactor (a queue with
// one write in flight), and the unary pass-through and admin handlers.
#include "services/gateway/gateway_service.h"

#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/request_id.h"
#include "common/request_log.h"
#include "common/status_util.h"
#include "common/unary_call.h"
#include "services/gateway/chat.h"
#include "services/gateway/check_constraint.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/score.h"

namespace fm::gateway {
namespace {

// Ends a unary call that was refused before any work.
grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx,
                                 const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

GatewayServiceImpl::GatewayServiceImpl(Backends* backends,
                                       GatewayOptions options)
    : backends_(backends),
      options_(std::move(options)),
      cache_(options_.cache_entries),
      workers_(options_.max_concurrent),
      light_(2) {}

bool GatewayServiceImpl::Admit() {
  int32_t now = active_.load();
  while (now < options_.max_concurrent) {
    if (active_.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}

absl::Status GatewayServiceImpl::Busy() const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "gateway busy: ", options_.max_concurrent, " generations running (max ",
      options_.max_concurrent, ", --max_concurrent)"));
}

// Streams one generation. The worker pushes messages with Write(); at most
// one StartWrite is in flight; Finish happens once the worker is done and
// the queue has drained. OnDone deletes only after Finish, and Finish only
// after the worker's last touch (Done), so neither outlives the other.
class GatewayServiceImpl::GenerateReactor final
    : public grpc::ServerWriteReactor<fm::v1::GenerateResponse>,
      public ResponseSink {
 public:
  // `job` runs on a worker, writing to the reactor (Generate or Chat).
  using Job = std::function<absl::Status(ResponseSink*)>;

  GenerateReactor(GatewayServiceImpl* service, grpc::CallbackServerContext* ctx,
                  absl::string_view rpc, Job job)
      : service_(service),
        ctx_(ctx),
        rpc_(rpc),
        job_(std::move(job)),
        start_(absl::Now()) {
    if (absl::Status s = service_->Authorize(*ctx, BearerAuth::Access::kUser);
        !s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    if (!service_->Admit()) {
      Finish(ToGrpcStatus(service_->Busy()));
      return;
    }
    if (!service_->workers_.Submit([this] { Work(); })) {
      service_->Release();
      Finish(ToGrpcStatus(service_->Busy()));
    }
  }

  bool Write(fm::v1::GenerateResponse response) override {
    ObserveTokens(response);
    absl::MutexLock lock(&mu_);
    // Backpressure: a client that stops reading stalls its own worker
    // (until its deadline or cancellation) instead of growing the queue.
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return broken_ || queue_.size() < kMaxQueued;
    };
    mu_.Await(absl::Condition(&room));
    if (broken_) return false;
    queue_.push_back(std::move(response));
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
    return true;
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) {
      broken_ = true;  // the client is gone; the worker stops at its next write
      queue_.clear();
    }
    if (!queue_.empty()) {
      StartWrite(&queue_.front());
      return;
    }
    writing_ = false;
    if (done_) Finish(final_status_);
  }

  void OnDone() override { delete this; }

 private:
  void Work() {
    const ScopedRequestId request_id(RequestIdOf(*ctx_));
    absl::Status status = job_(this);
    // For the access log line (RequestLogFactory) and the client.
    ctx_->AddTrailingMetadata(kTokensTrailer, std::to_string(tokens_written_));
    if (!status.ok()) {
      FM_LOG(DEBUG) << rpc_ << ": " << status;
    }
    service_->Release();
    bool finish_now;
    grpc::Status final_status = ToGrpcStatus(status);
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      final_status_ = final_status;
      finish_now = !writing_;
    }
    // Outside the lock: Finish may lead to OnDone (delete this) on another
    // thread at once. No write can start after done_, so this is the only
    // Finish when finish_now is true.
    if (finish_now) Finish(final_status);
  }

  // Time to first token and the gaps between a sequence's tokens, as the
  // worker hands them over (the worker is the only caller of Write).
  void ObserveTokens(const fm::v1::GenerateResponse& response) {
    const int tokens = response.token_ids_size();
    if (tokens == 0) return;
    const GatewayMetrics& metrics = GatewayMetrics::Get();
    const absl::Time now = absl::Now();
    metrics.generated_tokens->Increment(tokens);
    tokens_written_ += tokens;
    const size_t sequence = static_cast<size_t>(response.sequence_index());
    if (sequence >= last_token_at_.size()) {
      last_token_at_.resize(sequence + 1, absl::InfinitePast());
    }
    absl::Time& last = last_token_at_[sequence];
    if (!first_token_seen_) {
      first_token_seen_ = true;
      metrics.time_to_first_token->Observe(absl::ToDoubleSeconds(now - start_));
    }
    if (last != absl::InfinitePast()) {
      const double gap = absl::ToDoubleSeconds(now - last) / tokens;
      for (int i = 0; i < tokens; ++i) metrics.inter_token->Observe(gap);
    }
    last = now;
  }

  static constexpr size_t kMaxQueued = 256;

  GatewayServiceImpl* service_;
  grpc::CallbackServerContext* ctx_;
  const absl::string_view rpc_;
  const Job job_;
  const absl::Time start_;
  // Worker-only (see ObserveTokens).
  bool first_token_seen_ = false;
  int64_t tokens_written_ = 0;
  std::vector<absl::Time> last_token_at_;

  absl::Mutex mu_;
  std::deque<fm::v1::GenerateResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

namespace {

// One log line with the prompt of a call (only with --log_prompts),
// C-escaped so that it stays one line.
void LogPrompt(const grpc::CallbackServerContext& ctx, absl::string_view rpc,
               const std::string& prompt) {
  LogEvent(LogSeverity::kInfo, __FILE__, __LINE__, "prompt",
           {{"rpc", std::string(rpc)}, {"text", absl::CHexEscape(prompt)}},
           RequestIdOf(ctx));
}

std::string PromptOf(const fm::v1::GenerateRequest& request) {
  if (!request.has_ids()) return request.text();
  return absl::StrCat("ids:", absl::StrJoin(request.ids().ids(), ","));
}

std::string PromptOf(const fm::v1::ChatRequest& request) {
  std::vector<std::string> turns;
  for (const fm::v1::ChatMessage& m : request.messages()) {
    turns.push_back(absl::StrCat(m.role(), ": ", m.content()));
  }
  return absl::StrJoin(turns, "\n");
}

}  // namespace

grpc::ServerWriteReactor<fm::v1::GenerateResponse>*
GatewayServiceImpl::Generate(grpc::CallbackServerContext* ctx,
                             const fm::v1::GenerateRequest* request) {
  if (options_.log_prompts) LogPrompt(*ctx, "Generate", PromptOf(*request));
  return new GenerateReactor(this, ctx, "Generate", [this, ctx, request](ResponseSink* sink) {
    return RunGeneration(*backends_, &cache_, options_.limits, *ctx, *request, sink);
  });
}

grpc::ServerWriteReactor<fm::v1::GenerateResponse>*
GatewayServiceImpl::Chat(grpc::CallbackServerContext* ctx,
                         const fm::v1::ChatRequest* request) {
  if (options_.log_prompts) LogPrompt(*ctx, "Chat", PromptOf(*request));
  return new GenerateReactor(this, ctx, "Chat", [this, ctx, request](ResponseSink* sink) {
    return RunChat(*backends_, &cache_, options_.limits, *ctx, *request, sink);
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::Score(
    grpc::CallbackServerContext* ctx, const fm::v1::ScoreRequest* request,
    fm::v1::ScoreResponse* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kUser); !s.ok()) {
    return Refuse(ctx, s);
  }
  return RunUnaryOnExecutor(ctx, workers_, [this, ctx, request, response] {
    if (!Admit()) return Busy();
    absl::Status s =
        RunScore(*backends_, options_.limits, *ctx, *request, response);
    Release();
    return s;
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::CheckConstraint(
    grpc::CallbackServerContext* ctx,
    const fm::v1::GatewayCheckConstraintRequest* request,
    fm::v1::ConstraintCheck* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kUser); !s.ok()) {
    return Refuse(ctx, s);
  }
  // A compile may take the sampler a while: admitted like generation.
  return RunUnaryOnExecutor(ctx, workers_, [this, ctx, request, response] {
    if (!Admit()) return Busy();
    absl::Status s = RunCheckConstraint(*backends_, options_.limits, *ctx,
                                        *request, response);
    Release();
    return s;
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::Tokenize(
    grpc::CallbackServerContext* ctx, const fm::v1::EncodeRequest* request,
    fm::v1::EncodeResponse* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kUser); !s.ok()) {
    return Refuse(ctx, s);
  }
  return RunUnaryOnExecutor(ctx, light_, [this, ctx, request, response] {
    auto down = DownstreamContext(*ctx, options_.limits.default_timeout);
    return FromGrpcStatus(
        backends_->tokenizer()->Encode(down.get(), *request, response),
        "tokenizer");
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::Detokenize(
    grpc::CallbackServerContext* ctx, const fm::v1::DecodeRequest* request,
    fm::v1::DecodeResponse* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kUser); !s.ok()) {
    return Refuse(ctx, s);
  }
  return RunUnaryOnExecutor(ctx, light_, [this, ctx, request, response] {
    auto down = DownstreamContext(*ctx, options_.limits.default_timeout);
    return FromGrpcStatus(
        backends_->tokenizer()->Decode(down.get(), *request, response),
        "tokenizer");
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::Info(
    grpc::CallbackServerContext* ctx, const fm::v1::GatewayInfoRequest* request,
    fm::v1::GatewayInfo* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kUser); !s.ok()) {
    return Refuse(ctx, s);
  }
  return RunUnaryOnExecutor(ctx, light_, [this, ctx, response] {
    auto down = DownstreamContext(*ctx, options_.limits.default_timeout);
    grpc::Status s = backends_->tokenizer()->Info(
        down.get(), {}, response->mutable_tokenizer());
    if (!s.ok()) return FromGrpcStatus(s, "tokenizer");
    down = DownstreamContext(*ctx, options_.limits.default_timeout);
    s = backends_->model()->Info(down.get(), {}, response->mutable_model());
    if (!s.ok()) return FromGrpcStatus(s, "model");
    for (const auto& route : backends_->routes()->List()) {
      fm::v1::Route* r = response->add_routes();
      r->set_name(route->name);
      r->set_target(route->target);
    }
    response->set_cache_entries(cache_.entries());
    response->set_cache_hits(cache_.hits());
    response->set_cache_misses(cache_.misses());
    response->set_active_generations(active_.load());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::ListRoutes(
    grpc::CallbackServerContext* ctx, const fm::v1::ListRoutesRequest* request,
    fm::v1::ListRoutesResponse* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kUser); !s.ok()) {
    return Refuse(ctx, s);
  }
  for (const auto& route : backends_->routes()->List()) {
    fm::v1::Route* r = response->add_routes();
    r->set_name(route->name);
    r->set_target(route->target);
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* GatewayServiceImpl::SetRoute(
    grpc::CallbackServerContext* ctx, const fm::v1::SetRouteRequest* request,
    fm::v1::Route* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kAdmin); !s.ok()) {
    return Refuse(ctx, s);
  }
  // Resolving names in the target may block: run it on a worker.
  return RunUnaryOnExecutor(ctx, light_, [this, request, response] {
    absl::Status s = backends_->routes()->Set(request->route().name(),
                                              request->route().target());
    if (s.ok()) *response = request->route();
    return s;
  });
}

grpc::ServerUnaryReactor* GatewayServiceImpl::DeleteRoute(
    grpc::CallbackServerContext* ctx, const fm::v1::DeleteRouteRequest* request,
    fm::v1::DeleteRouteResponse* response) {
  if (absl::Status s = Authorize(*ctx, BearerAuth::Access::kAdmin); !s.ok()) {
    return Refuse(ctx, s);
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(backends_->routes()->Delete(request->name())));
  return reactor;
}

}  // namespace fm::gateway
