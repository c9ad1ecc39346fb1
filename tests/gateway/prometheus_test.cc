// A real Prometheus server (Debian's prometheus) scrapes the four services
// and a second model replica, and PromQL through its HTTP API sees what the
// generations did: both replicas served sessions, every generated token and
// every first token was counted, each sampler stage was timed, and the
// gauges went back to zero.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/channel_factory.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "tests/support/gateway_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using Json = nlohmann::json;

constexpr char kPrometheus[] = "/usr/bin/prometheus";

// A service started with a metrics listener on a free loopback port.
struct Scraped {
  std::string job;
  std::unique_ptr<ServiceProcess> process;
  int metrics_port = 0;
};

Scraped Start(const std::string& job, const std::string& binary,
              std::vector<std::string> flags) {
  const std::string port_file = MakeTempDir() + "/metrics.port";
  flags.push_back("--metrics_listen=127.0.0.1:0");
  flags.push_back("--metrics_port_file=" + port_file);
  Scraped s{job, std::make_unique<ServiceProcess>(binary, flags)};
  INFO(s.process->log());
  REQUIRE(s.process->WaitForServing(15000));
  std::ifstream in(port_file);
  in >> s.metrics_port;
  REQUIRE(s.metrics_port > 0);
  return s;
}

// GET on Prometheus' HTTP API; null on a failed request.
Json Api(int port, const std::string& path_and_query) {
  const CommandResult r =
      RunCommand({"/usr/bin/env", "curl", "-s", "--max-time", "5",
                  absl::StrCat("http://127.0.0.1:", port, path_and_query)});
  if (r.exit_code != 0) return Json();
  Json j = Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

// An instant PromQL query: instance (or "") -> value, for a vector result;
// `*ok` (when given) tells whether Prometheus accepted and answered it.
std::map<std::string, double> Query(int port, const std::string& promql,
                                    bool* ok = nullptr) {
  if (ok != nullptr) *ok = false;
  const CommandResult r =
      RunCommand({"/usr/bin/env", "curl", "-s", "--max-time", "5", "-G",
                  absl::StrCat("http://127.0.0.1:", port, "/api/v1/query"),
                  "--data-urlencode", "query=" + promql});
  std::map<std::string, double> out;
  if (r.exit_code != 0) return out;
  const Json j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return out;
  for (const Json& sample : j["data"]["result"]) {
    const std::string instance =
        sample["metric"].value("instance", std::string());
    out[instance] = std::stod(sample["value"][1].get<std::string>());
  }
  if (ok != nullptr) *ok = true;
  return out;
}

// Polls `promql` (every 250 ms, at most `seconds`) until `good` holds for
// its result; returns the last result.
template <typename Pred>
std::map<std::string, double> QueryUntil(int port, const std::string& promql,
                                         Pred good, int seconds = 20) {
  std::map<std::string, double> result;
  for (int i = 0; i < seconds * 4; ++i) {
    result = Query(port, promql);
    if (good(result)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return result;
}

double Total(const std::map<std::string, double>& result) {
  double sum = 0;
  for (const auto& [instance, value] : result) sum += value;
  return sum;
}

TEST_CASE("Prometheus scrapes every service and PromQL sees the generations",
          "[integration][metrics]") {
  const std::string tokenizer_file = ModelFile("tok512.model");
  const std::string model_file = ModelFile("stories260K.bin");
  FM_REQUIRE_FILE_OR_SKIP(tokenizer_file, "tok512.model");
  FM_REQUIRE_FILE_OR_SKIP(model_file, "stories260K.bin");
  if (RunCommand({"/usr/bin/test", "-x", kPrometheus}).exit_code != 0) {
    ReportSkip(
        "Prometheus is not installed (apt-get install prometheus; "
        "scripts/install_deps.sh --tests does)");
    return;
  }

  std::vector<Scraped> services;
  services.push_back(Start("tokenizer", "fm-tokenizer",
                           {"--tokenizer_model=" + tokenizer_file}));
  const std::string tokenizer = services[0].process->address();
  services.push_back(Start("model", "fm-model", {"--model=" + model_file}));
  services.push_back(Start("model", "fm-model", {"--model=" + model_file}));
  const std::string models =
      services[1].process->address() + "," + services[2].process->address();
  services.push_back(Start("sampler", "fm-sampler",
                           {"--profiles=" + MakeTempDir() + "/profiles.json",
                            "--tokenizer=" + tokenizer}));
  services.push_back(Start("gateway", "fm-gateway",
                           {"--tokenizer=" + tokenizer, "--model=" + models,
                            "--sampler=" + services[3].process->address(),
                            "--health_period=100ms"}));

  // Prometheus on loopback, scraping each service's listener every 500 ms.
  const std::string dir = MakeTempDir();
  std::ostringstream config;
  config << "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n"
         << "scrape_configs:\n";
  for (const char* job : {"tokenizer", "model", "sampler", "gateway"}) {
    config << "  - job_name: " << job << "\n    static_configs:\n"
           << "      - targets: [";
    bool first = true;
    for (const Scraped& s : services) {
      if (s.job != job) continue;
      config << (first ? "" : ", ") << "'127.0.0.1:" << s.metrics_port << "'";
      first = false;
    }
    config << "]\n";
  }
  { std::ofstream(dir + "/prometheus.yml") << config.str(); }
  const int port = FreeLoopbackPort();
  REQUIRE(port > 0);
  ChildProcess prometheus(
      {kPrometheus, "--config.file=" + dir + "/prometheus.yml",
       "--storage.tsdb.path=" + dir + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", port)});
  bool ready = false;
  for (int i = 0; i < 120 && !ready; ++i) {
    const CommandResult r =
        RunCommand({"/usr/bin/env", "curl", "-s", "-o", "/dev/null", "-w",
                    "%{http_code}", "--max-time", "2",
                    absl::StrCat("http://127.0.0.1:", port, "/-/ready")});
    ready = r.out == "200";
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO(prometheus.log());
  REQUIRE(ready);

  // Every target is up.
  const auto up = QueryUntil(port, "up == 1", [&](const auto& r) {
    return r.size() == services.size();
  });
  CHECK(up.size() == services.size());

  // Eight greedy generations; each opens its own model session, and the
  // gateway balances sessions over the two replicas round robin.
  auto channel = MakeChannel(services[4].process->address());
  REQUIRE(channel.ok());
  auto stub = fm::v1::GatewayService::NewStub(*channel);
  constexpr int kGenerations = 8;
  int64_t tokens = 0;
  for (int i = 0; i < kGenerations; ++i) {
    fm::v1::GenerateRequest request = Greedy("Once upon a time", 20);
    request.set_no_cache(true);
    const GenerateResult result = RunGenerate(*stub, request);
    REQUIRE(result.status.ok());
    REQUIRE(result.Last() != nullptr);
    tokens += result.Last()->usage().completion_tokens();
  }
  REQUIRE(tokens > 0);

  // Both replicas' Session counters are > 0, and together they served
  // every generation.
  const std::string sessions =
      "sum by (instance) (grpc_server_handled_total{job=\"model\","
      "grpc_service=\"fm.v1.ModelService\",grpc_method=\"Session\"})";
  const auto per_replica = QueryUntil(
      port, sessions, [&](const auto& r) { return Total(r) >= kGenerations; });
  INFO(sessions);
  REQUIRE(per_replica.size() == 2);
  for (const auto& [instance, count] : per_replica) {
    CAPTURE(instance);
    CHECK(count > 0);
  }
  CHECK(Total(per_replica) == kGenerations);

  // The gateway counted every token and every first token, once.
  const auto generated =
      QueryUntil(port, "fm_generated_tokens_total",
                 [&](const auto& r) { return Total(r) >= tokens; });
  CHECK(Total(generated) == tokens);
  const auto first_tokens =
      QueryUntil(port, "fm_generation_time_to_first_token_seconds_count",
                 [&](const auto& r) { return Total(r) >= kGenerations; });
  CHECK(Total(first_tokens) == kGenerations);
  const auto generate_ok = QueryUntil(
      port,
      "grpc_server_handled_total{job=\"gateway\",grpc_method=\"Generate\","
      "grpc_code=\"OK\"}",
      [&](const auto& r) { return Total(r) >= kGenerations; });
  CHECK(Total(generate_ok) == kGenerations);

  // The models ran the prompts and every generated token but the last
  // (whose logits nobody needs), summed over both replicas.
  const auto processed = QueryUntil(
      port, "fm_model_processed_tokens_total",
      [&](const auto& r) { return r.size() == 2 && Total(r) >= tokens; });
  CHECK(processed.size() == 2);
  CHECK(Total(processed) >= tokens);
  const auto forwards = Query(port, "fm_model_forward_seconds_count");
  CHECK(Total(forwards) > 0);

  // The sampler timed each stage of the chain: greedy for these requests.
  const auto greedy =
      QueryUntil(port, "fm_sampler_stage_seconds_count{stage=\"greedy\"}",
                 [&](const auto& r) { return Total(r) >= tokens; });
  CHECK(Total(greedy) == tokens);
  const auto sampled = Query(port, "fm_sampler_tokens_total");
  CHECK(Total(sampled) == tokens);

  // Nothing is left open.
  for (const char* gauge :
       {"fm_active_generations", "fm_model_sessions", "fm_model_sequences",
        "fm_model_kv_cache_bytes", "fm_sampler_sessions"}) {
    CAPTURE(gauge);
    const auto values = QueryUntil(port, gauge, [&](const auto& r) {
      return !r.empty() && Total(r) == 0;
    });
    CHECK(!values.empty());
    CHECK(Total(values) == 0);
  }
  // Every process reports its memory, threads and descriptors.
  for (const char* series : {"process_resident_memory_bytes > 0",
                             "process_threads > 0", "process_open_fds > 0"}) {
    CAPTURE(series);
    CHECK(Query(port, series).size() == services.size());
  }

  // Every query of the Grafana dashboard in deploy/ is valid PromQL over
  // series that exist.
  std::ifstream file(SourceDir() + "/deploy/grafana/fmserve-dashboard.json");
  const Json dashboard = Json::parse(file, nullptr, false);
  REQUIRE(dashboard.is_object());
  int queries = 0;
  for (const Json& panel : dashboard["panels"]) {
    for (const Json& target : panel["targets"]) {
      const std::string expr = target["expr"].get<std::string>();
      CAPTURE(panel["title"].get<std::string>(), expr);
      bool ok = false;
      const auto result = Query(port, expr, &ok);
      CHECK(ok);
      CHECK(!result.empty());
      ++queries;
    }
  }
  CHECK(queries >= 14);
}

}  // namespace
}  // namespace fm::testing
