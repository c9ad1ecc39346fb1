#include "common/metrics/rpc_metrics.h"

#include <chrono>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/metrics/metrics_registry.h"

namespace fm::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// "/fm.v1.ModelService/Forward" -> {"fm.v1.ModelService", "Forward"}.
std::pair<std::string, std::string> SplitMethod(const char* full) {
  absl::string_view method = full == nullptr ? "" : full;
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  const size_t slash = method.find('/');
  if (slash == absl::string_view::npos) {
    return {"unknown", std::string(method)};
  }
  return {std::string(method.substr(0, slash)),
          std::string(method.substr(slash + 1))};
}

// One call: counted as started when created, as handled with the status it
// sent (or CANCELLED when it ended without sending one) when destroyed,
// which gRPC does once the call is over.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(prometheus::Family<prometheus::Counter>& handled,
                        prometheus::Histogram& seconds,
                        std::map<std::string, std::string> labels)
      : handled_(handled),
        seconds_(seconds),
        labels_(std::move(labels)),
        start_(std::chrono::steady_clock::now()) {}

  ~RpcMetricsInterceptor() override {
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start_;
    seconds_.Observe(elapsed.count());
    labels_["grpc_code"] =
        absl::StatusCodeToString(static_cast<absl::StatusCode>(code_));
    handled_.Add(labels_).Increment();
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
    }
    methods->Proceed();
  }

 private:
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Histogram& seconds_;
  std::map<std::string, std::string> labels_;
  const std::chrono::steady_clock::time_point start_;
  grpc::StatusCode code_ = grpc::StatusCode::CANCELLED;
};

}  // namespace

RpcMetricsFactory::RpcMetricsFactory(prometheus::Registry& registry)
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, "
                         "regardless of success or failure.")
                   .Register(registry)),
      handling_seconds_(
          prometheus::BuildHistogram()
              .Name("grpc_server_handling_seconds")
              .Help("Histogram of response latency (seconds) of gRPC that "
                    "had been application-level handled by the server.")
              .Register(registry)) {}

grpc::experimental::Interceptor* RpcMetricsFactory::CreateServerInterceptor(
    ServerRpcInfo* info) {
  auto [service, method] = SplitMethod(info->method());
  std::map<std::string, std::string> labels = {
      {"grpc_service", std::move(service)},
      {"grpc_method", std::move(method)},
      {"grpc_type", TypeName(info->type())}};
  started_.Add(labels).Increment();
  // From 100 µs (a health check) to 28 minutes (a long generation).
  static const auto* const kBuckets =
      new prometheus::Histogram::BucketBoundaries(
          ExponentialBuckets(1e-4, 4, 13));
  prometheus::Histogram& seconds = handling_seconds_.Add(labels, *kBuckets);
  return new RpcMetricsInterceptor(handled_, seconds, std::move(labels));
}

}  // namespace fm::metrics
