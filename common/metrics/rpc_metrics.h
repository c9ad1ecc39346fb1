// RpcMetrics: a gRPC server interceptor that counts every call by service,
// method, type and status code and times it, under the names operators
// already chart for gRPC servers (go-grpc-prometheus):
// grpc_server_started_total, grpc_server_handled_total and
// grpc_server_handling_seconds.
#ifndef FM_COMMON_METRICS_RPC_METRICS_H_
#define FM_COMMON_METRICS_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace fm::metrics {

class RpcMetricsFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Registers the three families in `registry`, which must outlive every
  // server this factory is installed in.
  explicit RpcMetricsFactory(prometheus::Registry& registry);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;
};

}  // namespace fm::metrics

#endif  // FM_COMMON_METRICS_RPC_METRICS_H_
