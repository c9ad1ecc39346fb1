// `fmctl health`: grpc.health.v1 Check; exit 0 only when SERVING. Doubles as
// the container health probe (grpc_health_probe is not packaged in Debian).
#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/fmctl/fmctl.h"

ABSL_DECLARE_FLAG(std::string, target);
ABSL_DECLARE_FLAG(std::string, service);

namespace fm::fmctl {

int RunHealth(const Args& args) {
  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty() && args.size() == 1) target = args[0];
  if (target.empty() || args.size() > 1) return Usage("health");
  auto channel = ChannelFor("target", target);
  if (!channel.ok()) return Fail("health", channel.status());
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  auto ctx = NewContext();
  grpc::Status status = stub->Check(ctx.get(), request, &response);
  if (!status.ok()) return Fail("health", status);
  const char* name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                         response.status())
                         .c_str();
  std::printf("%s\n", name);
  return response.status() ==
                 grpc::health::v1::HealthCheckResponse::SERVING
             ? 0
             : 1;
}

}  // namespace fm::fmctl
