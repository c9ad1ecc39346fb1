// The docker-compose deployment, run as a user runs it: images built from
// deploy/Dockerfile, the stack started from docker-compose.yml (with the
// fault-injection overrides of tests/deploy/docker-compose.test.yml),
// requests through the published gateway port only, stages scaled and
// swapped at runtime, a replica killed mid-stream, everything removed.
// Skipped (never passed) where this machine cannot run containers;
// FM_REQUIRE_DEPLOY=1 (set by CI) turns that into a failure.
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/channel_factory.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "tests/deploy/docker_env.h"
#include "tests/support/gateway_client.h"
#include "tests/support/json_field.h"
#include "tests/support/known_text.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMinute = 60 * 1000;
constexpr const char* kStages[] = {"tokenizer", "model", "sampler", "gateway"};

std::string Tail(const std::string& text, size_t n = 4000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// Short and sampled without a seed: never served from the response cache,
// so every call reaches a model and a sampler replica.
// An instant PromQL query through Prometheus' HTTP API: instance -> value
// (empty on any failure).
std::map<std::string, double> PromQuery(int port, const std::string& promql) {
  const CommandResult r =
      RunCommand({"/usr/bin/env", "curl", "-sS", "--max-time", "5", "-G",
                  "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query",
                  "--data-urlencode", "query=" + promql});
  std::map<std::string, double> out;
  if (r.exit_code != 0) return out;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return out;
  for (const nlohmann::json& sample : j["data"]["result"]) {
    out[sample["metric"].value("instance", std::string())] =
        std::stod(sample["value"][1].get<std::string>());
  }
  return out;
}

// `n` entries, each > 0.
bool AllPositive(const std::map<std::string, double>& values, size_t n) {
  if (values.size() != n) return false;
  for (const auto& [key, value] : values) {
    if (!(value > 0)) return false;
  }
  return true;
}

fm::v1::GenerateRequest Sampled(int max_tokens) {
  fm::v1::GenerateRequest r;
  r.set_text("Once upon a time");
  r.set_max_tokens(max_tokens);
  r.mutable_shorthand()->set_temperature(0.8f);
  return r;
}

fm::v1::GenerateRequest WithProfile(const std::string& profile,
                                    int max_tokens) {
  fm::v1::GenerateRequest r;
  r.set_text("");  // from BOS
  r.set_max_tokens(max_tokens);
  r.mutable_sampling()->set_profile(profile);
  return r;
}

// sessions_opened of every running container of `service`.
std::map<std::string, int64_t> SessionsOpened(ComposeProject& project,
                                              const std::string& service,
                                              const std::string& flags) {
  std::map<std::string, int64_t> opened;
  for (const std::string& id : project.Containers(service)) {
    opened[id] = JsonInt(ComposeProject::Info(id, flags), "sessions_opened");
  }
  return opened;
}

template <typename Value>
std::string Describe(const std::map<std::string, Value>& counters) {
  std::string out;
  for (const auto& [id, n] : counters) {
    out += id.substr(0, 21) + "=" + std::to_string(n) + " ";
  }
  return out;
}

// True when every replica in `now` served more than it had in `before`
// (a replica absent from `before` had served nothing).
bool AllGrew(const std::map<std::string, int64_t>& before,
             const std::map<std::string, int64_t>& now) {
  for (const auto& [id, n] : now) {
    auto it = before.find(id);
    if (n <= (it == before.end() ? 0 : it->second)) return false;
  }
  return !now.empty();
}

// `fmctl ARGS` inside a sampler container, against its own fm-sampler.
CommandResult SamplerCommand(const std::string& container,
                             const std::string& args) {
  return ComposeProject::Docker("exec " + container +
                                " fmctl --timeout=5s --sampler=localhost:50053 " +
                                args);
}

// Puts profile NAME = CHAIN on one sampler container.
bool PutProfile(const std::string& container, const std::string& name,
                const std::string& chain) {
  return SamplerCommand(container,
                        "profiles put " + name + " " + ShellQuote(chain))
             .exit_code == 0;
}

// The chain of profile NAME as one sampler container serves it ("" when
// it has none).
std::string GetProfile(const std::string& container, const std::string& name) {
  CommandResult r = SamplerCommand(container, "profiles get " + name);
  return r.exit_code == 0 ? r.out : "";
}

// Waits (up to 10 s) until `container` serves profile NAME as `chain`.
bool WaitForProfile(const std::string& container, const std::string& name,
                    const std::string& chain) {
  for (int i = 0; i < 40; ++i) {
    if (!chain.empty() && GetProfile(container, name) == chain) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

std::string Inspect(const std::string& container, const std::string& format) {
  return std::string(absl::StripAsciiWhitespace(
      ComposeProject::Docker("inspect -f " + ShellQuote(format) + " " +
                             container)
          .out));
}

// Joins on destruction, so a failed REQUIRE never leaves it running.
class JoiningThread {
 public:
  template <typename F>
  explicit JoiningThread(F f) : thread_(std::move(f)) {}
  ~JoiningThread() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

TEST_CASE("docker-compose: build, start, scale, swap the sampler, lose a "
          "replica, remove",
          "[deploy]") {
  if (!DockerReadyOrSkipped()) return;
  ComposeProject project("fmdeploy" + std::to_string(::getpid()), "test");

  // Build the images as a user does (the classic builder; no registry).
  CommandResult build = project.Compose("build", 25 * kMinute);
  INFO("docker-compose build: " << Tail(build.out + build.err));
  REQUIRE(build.exit_code == 0);
  for (const char* stage : kStages) {
    const std::string size = Inspect(std::string("fmserve/") + stage + ":test",
                                     "{{.Size}}");
    std::printf("image fmserve/%s: %.1f MB\n", stage,
                std::atof(size.c_str()) / 1e6);
  }

  // Start: four healthy services, the gateway last, and Prometheus.
  CommandResult up = project.Compose(
      "up -d tokenizer model sampler gateway prometheus", 5 * kMinute);
  INFO("docker-compose up: " << Tail(up.out + up.err));
  REQUIRE(up.exit_code == 0);
  REQUIRE(project.WaitHealthy("gateway", 1, 2 * kMinute));
  for (const char* stage : kStages) {
    for (const std::string& id : project.Containers(stage)) {
      INFO(stage);
      // Non-root, and only the gateway's ports published (on loopback).
      CHECK(absl::StripAsciiWhitespace(
                ComposeProject::Docker("exec " + id + " id -u").out) ==
            "10001");
      const std::string ports = std::string(absl::StripAsciiWhitespace(
          ComposeProject::Docker("port " + id).out));
      if (std::string(stage) == "gateway") {
        const std::vector<std::string> lines = absl::StrSplit(ports, '\n');
        CHECK(
            std::set<std::string>(lines.begin(), lines.end()) ==
            std::set<std::string>{
                "50050/tcp -> 127.0.0.1:" +
                    std::to_string(project.gateway_port()),
                "8080/tcp -> 127.0.0.1:" + std::to_string(project.http_port()),
                "9050/tcp -> 127.0.0.1:" +
                    std::to_string(project.metrics_port())});
      } else {
        CHECK(ports.empty());
      }
    }
  }
  auto channel = MakeChannel(project.gateway_address());
  REQUIRE(channel.ok());
  auto stub = fm::v1::GatewayService::NewStub(*channel);

  // Greedy through the published port: the known story.
  GenerateResult known =
      RunGenerate(*stub, Greedy("", 200), absl::Seconds(60));
  INFO(known.status.error_message());
  REQUIRE(known.status.ok());
  CHECK(known.Text() == kStories260KGreedyText);
  REQUIRE(!known.messages.empty());
  REQUIRE(known.messages[0].token_ids_size() > 0);
  const int32_t first_greedy_id = known.messages[0].token_ids(0);

  // The OpenAI-compatible API through its published port: the same story.
  CommandResult http =
      RunCommand({"/usr/bin/env", "curl", "-sS", "--max-time", "60", "-H",
                  "Content-Type: application/json", "--data-binary",
                  R"({"prompt": "", "max_tokens": 200, "temperature": 0})",
                  "http://127.0.0.1:" + std::to_string(project.http_port()) +
                      "/v1/completions"},
                 "", 70000);
  INFO(http.out << http.err);
  REQUIRE(http.exit_code == 0);
  CHECK(nlohmann::json::parse(http.out)["choices"][0]["text"] ==
        kStories260KGreedyText);

  // Scale model and sampler to two replicas each, the gateway untouched:
  // generations reach every replica (the new ones are found through DNS
  // once the gateway's connections age out, 3 s in this test).
  const std::string gateway_id = project.Containers("gateway").at(0);
  const std::string gateway_started = Inspect(gateway_id, "{{.State.StartedAt}}");
  const auto models_before = SessionsOpened(project, "model", "--model=localhost:50052");
  const auto samplers_before =
      SessionsOpened(project, "sampler", "--sampler=localhost:50053");
  CommandResult scale = project.Compose(
      "up -d --no-recreate --scale model=2 --scale sampler=2 tokenizer model "
      "sampler gateway",
      3 * kMinute);
  INFO("scale: " << Tail(scale.out + scale.err));
  REQUIRE(scale.exit_code == 0);
  REQUIRE(project.WaitHealthy("model", 2, 2 * kMinute));
  REQUIRE(project.WaitHealthy("sampler", 2, 2 * kMinute));
  std::map<std::string, int64_t> models_now, samplers_now;
  bool spread = false;
  for (int round = 0; round < 20 && !spread; ++round) {
    for (int i = 0; i < 4; ++i) {
      GenerateResult r = RunGenerate(*stub, Sampled(4), absl::Seconds(30));
      INFO(r.status.error_message());
      REQUIRE(r.status.ok());
    }
    models_now = SessionsOpened(project, "model", "--model=localhost:50052");
    samplers_now =
        SessionsOpened(project, "sampler", "--sampler=localhost:50053");
    spread = models_now.size() == 2 && samplers_now.size() == 2 &&
             AllGrew(models_before, models_now) &&
             AllGrew(samplers_before, samplers_now);
    if (!spread) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  INFO("model sessions: " << Describe(models_before) << "-> "
                          << Describe(models_now));
  INFO("sampler sessions: " << Describe(samplers_before) << "-> "
                            << Describe(samplers_now));
  CHECK(spread);
  // What an operator sees: Prometheus, finding replicas by DNS, shows both
  // model replicas doing work, and the gateway's own series.
  std::map<std::string, double> per_replica;
  for (int i = 0; i < 60 && !AllPositive(per_replica, 2); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    per_replica = PromQuery(project.prometheus_port(),
                            "sum by (instance) (grpc_server_handled_total{"
                            "job=\"model\",grpc_method=\"Session\"})");
  }
  INFO("model Session calls by replica: " << Describe(per_replica));
  CHECK(AllPositive(per_replica, 2));
  const CommandResult gateway_metrics =
      RunCommand({"/usr/bin/env", "curl", "-sS", "--max-time", "10",
                  "http://127.0.0.1:" + std::to_string(project.metrics_port()) +
                      "/metrics"});
  CHECK(gateway_metrics.exit_code == 0);
  CHECK_THAT(gateway_metrics.out,
             Catch::Contains("# TYPE fm_generated_tokens_total counter"));
  CHECK(project.Containers("gateway") == std::vector<std::string>{gateway_id});
  CHECK(Inspect(gateway_id, "{{.State.StartedAt}}") == gateway_started);
  CHECK(Inspect(gateway_id, "{{.RestartCount}}") == "0");

  // Swap the strategy at runtime, nothing restarts: a profile put through
  // one sampler replica reaches the other (they share the profile volume),
  // then it is replaced; requests follow it.
  const std::vector<std::string> samplers = project.Containers("sampler");
  REQUIRE(samplers.size() == 2);
  REQUIRE(PutProfile(samplers[0], "story", R"([{"stage":"greedy"}])"));
  CHECK(WaitForProfile(samplers[1], "story", GetProfile(samplers[0], "story")));
  GenerateResult greedy_story =
      RunGenerate(*stub, WithProfile("story", 30), absl::Seconds(30));
  INFO(greedy_story.status.error_message());
  REQUIRE(greedy_story.status.ok());
  CHECK(std::string(kStories260KGreedyText).rfind(greedy_story.Text(), 0) ==
        0);
  const std::string banned_chain =
      R"([{"stage":"ban","ids":[)" + std::to_string(first_greedy_id) +
      R"(]},{"stage":"greedy"}])";
  REQUIRE(PutProfile(samplers[1], "story", banned_chain));
  CHECK(WaitForProfile(samplers[0], "story", GetProfile(samplers[1], "story")));
  std::vector<std::string> swapped;
  for (int i = 0; i < 4; ++i) {  // round_robin: both replicas answer
    fm::v1::GenerateRequest r = WithProfile("story", 30);
    r.set_no_cache(i > 0);
    GenerateResult g = RunGenerate(*stub, r, absl::Seconds(30));
    INFO(g.status.error_message());
    REQUIRE(g.status.ok());
    REQUIRE(!g.messages.empty());
    REQUIRE(g.messages[0].token_ids_size() > 0);
    CHECK(g.messages[0].token_ids(0) != first_greedy_id);
    swapped.push_back(g.Text());
  }
  CHECK(swapped[0] != greedy_story.Text());
  for (const std::string& text : swapped) CHECK(text == swapped[0]);

  // A second sampler deployment, added as a named route at runtime.
  CommandResult add_b = project.Compose("up -d --no-recreate sampler-b", 2 * kMinute);
  INFO("sampler-b: " << Tail(add_b.out + add_b.err));
  REQUIRE(add_b.exit_code == 0);
  REQUIRE(project.WaitHealthy("sampler-b", 1, kMinute));
  const std::string sampler_b = project.Containers("sampler-b").at(0);
  REQUIRE(PutProfile(sampler_b, "only-b", R"([{"stage":"greedy"}])"));
  // Its own volume: the default samplers do not have it.
  CommandResult missing = SamplerCommand(samplers[0], "profiles get only-b");
  CHECK(missing.exit_code != 0);
  CHECK(missing.err.find("NOT_FOUND") != std::string::npos);
  CommandResult route = RunCommand(
      {"fmctl", "--gateway=" + project.gateway_address(), "routes", "set", "b",
       "dns:///sampler-b:50053"});
  INFO("routes set: " << route.out << route.err);
  REQUIRE(route.exit_code == 0);
  fm::v1::GenerateRequest via_b = WithProfile("only-b", 8);
  via_b.set_sampler_route("b");
  GenerateResult b = RunGenerate(*stub, via_b, absl::Seconds(30));
  INFO(b.status.error_message());
  CHECK(b.status.ok());
  CHECK(std::string(kStories260KGreedyText).rfind(b.Text(), 0) == 0);
  CHECK(JsonInt(ComposeProject::Info(sampler_b, "--sampler=localhost:50053"),
                "sessions_opened") >= 1);
  via_b.clear_sampler_route();  // the default samplers lack the profile
  CHECK(RunGenerate(*stub, via_b, absl::Seconds(30)).status.error_code() ==
        grpc::StatusCode::NOT_FOUND);

  // Kill the model replica that serves a generation, mid-stream: the
  // generation resumes on the other replica or ends UNAVAILABLE within 3 s.
  fm::v1::GenerateRequest slow = Greedy("", 200);
  slow.set_no_cache(true);
  std::atomic<bool> streaming{false};
  GenerateResult slow_result;
  Clock::time_point slow_end;
  JoiningThread client([&] {
    slow_result = RunGenerate(*stub, slow, absl::Seconds(60),
                              [&](const fm::v1::GenerateResponse&) {
                                streaming = true;
                              });
    slow_end = Clock::now();
  });
  for (int i = 0; i < 200 && !streaming; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string victim;
  for (const std::string& id : project.Containers("model")) {
    const auto info = ComposeProject::Info(id, "--model=localhost:50052");
    if (JsonInt(info, "active_sessions") > 0) victim = id;
  }
  const Clock::time_point killed_at = Clock::now();
  const bool killed =
      !victim.empty() &&
      ComposeProject::Docker("kill " + victim).exit_code == 0;
  client.Join();  // bounded by the request's 60 s deadline
  REQUIRE(streaming);
  REQUIRE(killed);
  const double end_after_kill =
      std::chrono::duration<double>(slow_end - killed_at).count();
  std::printf("killed model replica %s mid-stream: %s after %.2f s\n",
              victim.substr(0, 12).c_str(),
              slow_result.status.ok() ? "resumed, finished"
                                      : slow_result.status.error_message().c_str(),
              end_after_kill);
  if (slow_result.status.ok()) {
    CHECK(slow_result.Text() == kStories260KGreedyText);
  } else {
    CHECK(slow_result.status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(end_after_kill < 3.0);
  }
  for (int i = 0; i < 3; ++i) {
    GenerateResult r = RunGenerate(*stub, Sampled(4), absl::Seconds(30));
    INFO(r.status.error_message());
    CHECK(r.status.ok());
  }

  // Remove: nothing of the project is left behind.
  CommandResult down = project.Down();
  INFO("down: " << Tail(down.out + down.err));
  CHECK(down.exit_code == 0);
  CHECK(project.Leftovers().empty());
}

}  // namespace
}  // namespace fm::testing
