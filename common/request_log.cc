#include "common/request_log.h"

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/request_id.h"

namespace fm {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;

// Health checks are polled every second by every gateway and probe: their
// access lines would drown the rest, so they are logged at debug level.
bool IsHealthCheck(const char* method) {
  return method != nullptr &&
         absl::string_view(method).rfind("/grpc.health.v1.Health/", 0) == 0;
}

class RequestLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit RequestLogInterceptor(const char* method)
      : method_(method == nullptr ? "" : method),
        start_(std::chrono::steady_clock::now()) {}

  ~RequestLogInterceptor() override {
    const LogSeverity severity = IsHealthCheck(method_.c_str())
                                     ? LogSeverity::kDebug
                                     : LogSeverity::kInfo;
    // Filtered out: build nothing (health checks run every second).
    if (severity < MinLogSeverity()) return;
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start_;
    LogFields fields = {
        {"rpc", method_},
        {"code",
         absl::StatusCodeToString(static_cast<absl::StatusCode>(code_))},
        {"duration_ms", absl::StrFormat("%.3f", elapsed.count())}};
    if (!tokens_.empty()) fields.emplace_back("tokens", tokens_);
    LogEvent(severity, __FILE__, __LINE__, "rpc", fields, request_id_);
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      AdoptRequestId(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (!request_id_.empty()) {
        methods->GetSendInitialMetadata()->emplace(kRequestIdKey, request_id_);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      code_ = status.error_code();
      const std::string tag = absl::StrCat("[request_id=", request_id_, "]");
      // A downstream error passed on already names the same request.
      if (!status.ok() && !request_id_.empty() &&
          !absl::StrContains(status.error_message(), tag)) {
        methods->ModifySendStatus(grpc::Status(
            status.error_code(), absl::StrCat(status.error_message(), " ", tag),
            status.error_details()));
      }
      auto* trailers = methods->GetSendTrailingMetadata();
      const auto it = trailers->find(kTokensTrailer);
      if (it != trailers->end()) tokens_ = it->second;
    }
    methods->Proceed();
  }

 private:
  // Keeps a valid client id; otherwise puts a new one in the call's
  // metadata, where the handler (and DownstreamContext) find it.
  void AdoptRequestId(
      std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    const auto it = metadata.find(kRequestIdKey);
    if (it != metadata.end()) {
      const absl::string_view given(it->second.data(), it->second.size());
      if (IsValidRequestId(given)) {
        request_id_ = std::string(given);
        return;
      }
      metadata.erase(it);
    }
    request_id_ = NewRequestId();
    // string_refs into this interceptor's strings, which live as long as
    // the call.
    metadata.emplace(grpc::string_ref(kRequestIdKey),
                     grpc::string_ref(request_id_));
  }

  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  std::string request_id_;
  std::string tokens_;
  grpc::StatusCode code_ = grpc::StatusCode::CANCELLED;
};

}  // namespace

std::string RequestIdOf(const grpc::ServerContextBase& ctx) {
  const auto& metadata = ctx.client_metadata();
  const auto it = metadata.find(kRequestIdKey);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

grpc::experimental::Interceptor* RequestLogFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RequestLogInterceptor(info->method());
}

}  // namespace fm
