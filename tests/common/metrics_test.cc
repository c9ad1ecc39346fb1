// The metrics library: the exposition a scraper reads (HELP and TYPE lines,
// process series, scrape-time callbacks), the RPC interceptor's counts by
// method and code, and refusals of listen addresses it cannot serve.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/channel_factory.h"
#include "common/metrics/callback_metrics.h"
#include "common/metrics/metrics_server.h"
#include "common/server_runner.h"
#include "common/status_util.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace fm::metrics {
namespace {

std::string Scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto response = client.Get("/metrics");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return response->body;
}

// The value of the sample line that starts with `series` ("name{labels}"
// exactly as exposed), or -1 when there is none.
double Sample(const std::string& exposition, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = 0;
  while ((at = exposition.find(prefix, at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') {
      return std::stod(exposition.substr(at + prefix.size()));
    }
    at += prefix.size();
  }
  return -1;
}

TEST_CASE(
    "the metrics listener exposes process series and scrape-time "
    "callbacks in the text format",
    "[metrics]") {
  std::atomic<int> active{3};
  auto callbacks = std::make_shared<CallbackMetrics>();
  callbacks->AddGauge("fm_test_active", "Things active now.",
                      [&active] { return active.load(); });
  callbacks->AddCounter("fm_test_events_total", "Events so far.",
                        [] { return 42.0; });
  auto server = MetricsServer::Start("127.0.0.1:0", {callbacks});
  REQUIRE(server.ok());
  REQUIRE((*server)->port() > 0);

  std::string text = Scrape((*server)->port());
  INFO(text);
  CHECK_THAT(text, Catch::Contains("# HELP fm_test_active Things active now."));
  CHECK_THAT(text, Catch::Contains("# TYPE fm_test_active gauge"));
  CHECK_THAT(text, Catch::Contains("# TYPE fm_test_events_total counter"));
  CHECK(Sample(text, "fm_test_active") == 3);
  CHECK(Sample(text, "fm_test_events_total") == 42);
  CHECK_THAT(text,
             Catch::Contains("# TYPE process_resident_memory_bytes gauge"));
  CHECK(Sample(text, "process_resident_memory_bytes") > 1e6);
  CHECK(Sample(text, "process_threads") >= 2);  // main + the listener's
  CHECK(Sample(text, "process_open_fds") >= 3);
  CHECK(Sample(text, "process_start_time_seconds") > 1.7e9);
  CHECK(Sample(text, "process_cpu_seconds_total") >= 0);

  // Read at every scrape, not copied once.
  active = 7;
  CHECK(Sample(Scrape((*server)->port()), "fm_test_active") == 7);
}

TEST_CASE("the metrics listener refuses addresses it cannot serve",
          "[metrics]") {
  for (const std::string bad : {"", "localhost", "127.0.0.1:", ":80",
                                "127.0.0.1:70000", "127.0.0.1:x"}) {
    auto server = MetricsServer::Start(bad, {});
    CAPTURE(bad, server.status());
    CHECK(server.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(server.status().message()),
               Catch::Contains("--metrics_listen=" + bad));
  }
  auto first = MetricsServer::Start("127.0.0.1:0", {});
  REQUIRE(first.ok());
  const std::string taken = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = MetricsServer::Start(taken, {});
  CAPTURE(second.status());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(second.status().message()), Catch::Contains(taken));
}

TEST_CASE("every RPC is counted by service, method, type and code, and timed",
          "[metrics]") {
  ServerOptions options;
  options.metrics_listen = "127.0.0.1:0";
  auto runner = ServerRunner::Start(options, {}, {"fm.test.Service"});
  REQUIRE(runner.ok());
  (*runner)->SetServing(true);
  REQUIRE((*runner)->metrics_port() > 0);
  auto channel = MakeChannel(absl::StrCat("127.0.0.1:", (*runner)->port()));
  REQUIRE(channel.ok());
  auto health = grpc::health::v1::Health::NewStub(*channel);
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&ctx, request, &response).error_code();
  };
  const std::string labels =
      "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\","
      "grpc_type=\"unary\"";
  const std::string before = Scrape((*runner)->metrics_port());
  auto count = [&](const std::string& text, const std::string& series) {
    const double v = Sample(text, series);
    return v < 0 ? 0 : v;
  };
  const double ok_before = count(
      before, "grpc_server_handled_total{grpc_code=\"OK\"," + labels + "}");
  const double not_found_before =
      count(before, "grpc_server_handled_total{grpc_code=\"NOT_FOUND\"," +
                        labels + "}");
  REQUIRE(check("") == grpc::StatusCode::OK);
  REQUIRE(check("fm.test.Service") == grpc::StatusCode::OK);
  REQUIRE(check("no.such.Service") == grpc::StatusCode::NOT_FOUND);

  const std::string after = Scrape((*runner)->metrics_port());
  INFO(after);
  CHECK(count(after, "grpc_server_handled_total{grpc_code=\"OK\"," + labels +
                         "}") == ok_before + 2);
  CHECK(count(after, "grpc_server_handled_total{grpc_code=\"NOT_FOUND\"," +
                         labels + "}") == not_found_before + 1);
  CHECK(count(after, "grpc_server_started_total{" + labels + "}") >= 3);
  CHECK(count(after, "grpc_server_handling_seconds_count{" + labels + "}") >=
        3);
  CHECK_THAT(after, Catch::Contains("# TYPE grpc_server_handling_seconds "
                                    "histogram"));
}

}  // namespace
}  // namespace fm::metrics
