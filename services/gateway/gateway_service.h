// GatewayServiceImpl: fm.v1.GatewayService, the public API. Generate and
// Score run on the gateway's own workers (they block on downstream calls);
// handlers only admit, queue and stream.
#ifndef FM_SERVICES_GATEWAY_GATEWAY_SERVICE_H_
#define FM_SERVICES_GATEWAY_GATEWAY_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "common/bearer_auth.h"
#include "common/executor.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/generation.h"
#include "services/gateway/response_cache.h"

namespace fm::gateway {

struct GatewayOptions {
  GenerationLimits limits;
  // Generations (and Score calls) running at once; more get
  // RESOURCE_EXHAUSTED. Each occupies one worker thread.
  int32_t max_concurrent = 16;
  size_t cache_entries = 1024;
  // Bearer tokens for the API (off by default); SetRoute and DeleteRoute
  // need an admin token.
  BearerAuth auth;
  // Log each Generate and Chat prompt (--log_prompts); otherwise no prompt
  // text or token reaches the logs.
  bool log_prompts = false;
};

class GatewayServiceImpl final
    : public fm::v1::GatewayService::CallbackService {
 public:
  // `backends` must outlive the service.
  GatewayServiceImpl(Backends* backends, GatewayOptions options);

  grpc::ServerWriteReactor<fm::v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* ctx,
      const fm::v1::GenerateRequest* request) override;
  grpc::ServerWriteReactor<fm::v1::GenerateResponse>* Chat(
      grpc::CallbackServerContext* ctx,
      const fm::v1::ChatRequest* request) override;
  grpc::ServerUnaryReactor* CheckConstraint(
      grpc::CallbackServerContext* ctx,
      const fm::v1::GatewayCheckConstraintRequest* request,
      fm::v1::ConstraintCheck* response) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* ctx,
                                  const fm::v1::ScoreRequest* request,
                                  fm::v1::ScoreResponse* response) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* ctx,
                                     const fm::v1::EncodeRequest* request,
                                     fm::v1::EncodeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(
      grpc::CallbackServerContext* ctx, const fm::v1::DecodeRequest* request,
      fm::v1::DecodeResponse* response) override;
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx,
                                 const fm::v1::GatewayInfoRequest* request,
                                 fm::v1::GatewayInfo* response) override;
  grpc::ServerUnaryReactor* ListRoutes(
      grpc::CallbackServerContext* ctx,
      const fm::v1::ListRoutesRequest* request,
      fm::v1::ListRoutesResponse* response) override;
  grpc::ServerUnaryReactor* SetRoute(grpc::CallbackServerContext* ctx,
                                     const fm::v1::SetRouteRequest* request,
                                     fm::v1::Route* response) override;
  grpc::ServerUnaryReactor* DeleteRoute(
      grpc::CallbackServerContext* ctx,
      const fm::v1::DeleteRouteRequest* request,
      fm::v1::DeleteRouteResponse* response) override;

  // For metrics (read at scrape time).
  int32_t active_generations() const { return active_.load(); }
  const ResponseCache& cache() const { return cache_; }

 private:
  class GenerateReactor;

  // Reserves a generation slot; false when all are taken.
  bool Admit();
  void Release() { --active_; }
  absl::Status Busy() const;
  // OK, or the reason to refuse the call (UNAUTHENTICATED,
  // PERMISSION_DENIED).
  absl::Status Authorize(const grpc::CallbackServerContext& ctx,
                         BearerAuth::Access access) const {
    return options_.auth.Check(ctx, access);
  }

  Backends* backends_;
  const GatewayOptions options_;
  ResponseCache cache_;
  std::atomic<int32_t> active_{0};
  // Generations and Score calls (one thread each, blocking downstream).
  Executor workers_;
  // Short pass-through calls (Tokenize, Detokenize, Info).
  Executor light_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GATEWAY_SERVICE_H_
