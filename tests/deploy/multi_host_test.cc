// fmserve across hosts without a container engine: every service on a host
// of its own (a network namespace), two fm-model and two fm-sampler
// replicas behind one gateway. Generations spread over the replicas; a
// replica that is killed, or whose link is cut (a silent partition), ends
// or moves only the generations it served, within the keepalive bound
// (for the model and for the sampler stage);
// new generations keep succeeding; a replica that returns takes work
// again. Clients run on the gateway's host (fmctl in its namespace).
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/deploy/netns_lab.h"
#include "tests/support/json_field.h"
#include "tests/support/known_text.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kGatewayHost[] = "gw";
constexpr char kGateway[] = "127.0.0.1:50050";  // the gateway host's loopback

struct Replica {
  std::string host, address;
};
const Replica kTokenizer = {"tok", "10.77.0.10:50051"};
const Replica kModels[] = {{"m1", "10.77.0.11:50052"},
                           {"m2", "10.77.0.12:50052"}};
const Replica kSamplers[] = {{"s1", "10.77.0.21:50053"},
                             {"s2", "10.77.0.22:50053"}};

std::string Ip(const std::string& address) {
  return address.substr(0, address.find(':'));
}

// One fmctl generate on the gateway's host, running in the background;
// its --json lines are the streamed messages.
class Client {
 public:
  Client(const NetnsLab& lab, std::vector<std::string> generate_args) {
    std::vector<std::string> argv = {"fmctl", std::string("--gateway=") + kGateway,
                                     "--timeout=60s", "generate", "--json"};
    argv.insert(argv.end(), generate_args.begin(), generate_args.end());
    process_ = std::make_unique<ChildProcess>(lab.In(kGatewayHost, argv));
  }
  // True once the first message arrived (bounded wait).
  bool WaitStreaming(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline && process_->Running()) {
      if (process_->log().find("{\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return process_->log().find("{\"") != std::string::npos;
  }
  // False once fmctl has exited; then exit_ok() tells how.
  bool Running() { return process_->Running(); }
  bool exit_ok() { return !process_->Running() && process_->WaitExit(0) == 0; }
  // Bytes of output so far: it grows by a line per streamed message.
  size_t output_size() const { return process_->log().size(); }
  // Ends fmctl (a bounded wait ran out).
  void Kill() { process_->Signal(SIGKILL); }
  // The streamed text (the "text" of every JSON line).
  std::string Text() const {
    std::string text;
    for (absl::string_view line : absl::StrSplit(process_->log(), '\n')) {
      if (!absl::StartsWith(line, "{")) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("text")) {
        text += j["text"].get<std::string>();
      }
    }
    return text;
  }
  std::string log() const { return process_->log(); }

 private:
  std::unique_ptr<ChildProcess> process_;
};

class MultiHost {
 public:
  explicit MultiHost(NetnsLab& lab) : lab_(lab) {}

  std::string Start() {
    const std::string models = SourceDir() + "/models";
    std::string err = lab_.AddHost(kGatewayHost, "10.77.0.2");
    for (const Replica* r : AllReplicas()) {
      if (err.empty()) err = lab_.AddHost(r->host, Ip(r->address));
    }
    if (!err.empty()) return err;
    tokenizer_ = Spawn(kTokenizer, {"fm-tokenizer",
                                    "--tokenizer_model=" + models + "/tok512.model"});
    for (int i = 0; i < 2; ++i) {
      StartReplica("model", i);
      StartReplica("sampler", i);
    }
    for (const Replica* r : AllReplicas()) {
      if (!WaitHealthy(r->host, r->address)) return r->host + " is not serving";
    }
    gateway_ = std::make_unique<ChildProcess>(lab_.In(
        kGatewayHost,
        {"fm-gateway", std::string("--listen=") + kGateway,
         "--tokenizer=" + kTokenizer.address,
         "--model=" + kModels[0].address + "," + kModels[1].address,
         "--sampler=" + kSamplers[0].address + "," + kSamplers[1].address,
         "--health_period=200ms"}));
    if (!WaitHealthy(kGatewayHost, kGateway)) {
      return "the gateway is not serving: " + gateway_->log();
    }
    return "";
  }

  // (Re)starts replica `i` of `service` ("model" or "sampler") on its
  // address.
  void StartReplica(const std::string& service, int i) {
    if (service == "model") {
      models_[i] = Spawn(kModels[i],
                         {"fm-model", "--model=" + SourceDir() + "/models/stories260K.bin",
                          "--threads=1", "--debug_step_delay=20ms"});
    } else {
      samplers_[i] = Spawn(kSamplers[i], {"fm-sampler"});
    }
  }
  ChildProcess& replica(const std::string& service, int i) {
    return service == "model" ? *models_[i] : *samplers_[i];
  }
  bool WaitHealthy(const std::string& host, const std::string& address) {
    for (int i = 0; i < 100; ++i) {
      CommandResult r = RunCommand(
          lab_.In(host, {"fmctl", "health", "--target=" + address, "--timeout=1s"}),
          "", 5000);
      if (r.exit_code == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // `field` of a replica's Info, asked from the gateway's host; -1 when
  // it does not answer.
  int64_t InfoField(const Replica& r, const char* service, const char* field) {
    CommandResult res = RunCommand(
        lab_.In(kGatewayHost, {"fmctl", std::string("--") + service + "=" + r.address,
                               "--timeout=2s", "info"}),
        "", 5000);
    if (res.exit_code != 0) return -1;
    return JsonInt(ParseJson(res.out), field, -1);
  }
  int64_t ModelSessions(int i) { return InfoField(kModels[i], "model", "sessions_opened"); }
  int64_t SamplerSessions(int i) {
    return InfoField(kSamplers[i], "sampler", "sessions_opened");
  }

  // A short sampled generation (not cacheable); true when it succeeded.
  bool Short() {
    Client c(lab_, {"--temperature", "0.8", "--max-tokens", "4", "Once upon a time"});
    for (int i = 0; i < 3000 && c.Running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (c.Running()) c.Kill();
    return c.exit_ok();
  }

  NetnsLab& lab() { return lab_; }

 private:
  std::unique_ptr<ChildProcess> Spawn(const Replica& r,
                                      std::vector<std::string> argv) {
    argv.push_back("--listen=" + r.address);
    return std::make_unique<ChildProcess>(lab_.In(r.host, argv));
  }
  std::vector<const Replica*> AllReplicas() const {
    return {&kTokenizer, &kModels[0], &kModels[1], &kSamplers[0], &kSamplers[1]};
  }

  NetnsLab& lab_;
  std::unique_ptr<ChildProcess> tokenizer_, gateway_;
  std::unique_ptr<ChildProcess> models_[2], samplers_[2];
};

// The greedy story, slowly (20 ms a step): long enough to fault mid-stream.
std::vector<std::string> SlowStory() {
  return {"--temperature", "0", "--max-tokens", "200", "--no-cache", ""};
}

// Slow generations at once, each with the replica of the stage under test
// that serves it (the one whose sessions_opened grew), until each replica
// serves at least one: round_robin alternates, but the gateway's health
// checks share the channel, so two streams may land on one replica.
struct Stream {
  std::unique_ptr<Client> client;
  int replica = -1;
  // Filled by FinishAll: how it ended, when, and the longest silence in
  // its stream after the fault.
  bool ok = false;
  double ended_after = 0, longest_gap = 0;
};

std::vector<Stream> StartOnBoth(MultiHost& hosts, const char* service) {
  const Replica* replicas =
      std::string(service) == "model" ? kModels : kSamplers;
  auto opened = [&](int i) {
    return hosts.InfoField(replicas[i], service, "sessions_opened");
  };
  std::vector<Stream> streams;
  int64_t before[2] = {opened(0), opened(1)};
  bool on[2] = {false, false};
  for (int attempt = 0; attempt < 6 && !(on[0] && on[1]); ++attempt) {
    Stream s;
    s.client = std::make_unique<Client>(hosts.lab(), SlowStory());
    REQUIRE(s.client->WaitStreaming(20000));
    const int64_t now[2] = {opened(0), opened(1)};
    for (int i = 0; i < 2; ++i) {
      if (now[i] == before[i] + 1) s.replica = i;
    }
    INFO("sessions opened " << before[0] << "," << before[1] << " -> "
                            << now[0] << "," << now[1]);
    // Exactly one replica opened exactly one session: this stream's.
    REQUIRE(now[0] + now[1] == before[0] + before[1] + 1);
    REQUIRE(s.replica >= 0);
    on[s.replica] = true;
    before[0] = now[0];
    before[1] = now[1];
    streams.push_back(std::move(s));
  }
  REQUIRE(on[0]);
  REQUIRE(on[1]);
  return streams;
}

// Waits (bounded) until every stream has ended, watching each one's
// output, and fills in how and when it ended relative to `fault`.
void FinishAll(std::vector<Stream>& streams, Clock::time_point fault) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::vector<size_t> size(streams.size(), 0);
  std::vector<Clock::time_point> last(streams.size(), fault);
  std::vector<bool> done(streams.size(), false);
  auto seconds = [](Clock::duration d) {
    return std::chrono::duration<double>(d).count();
  };
  for (size_t left = streams.size(); left > 0 && Clock::now() < deadline;) {
    for (size_t i = 0; i < streams.size(); ++i) {
      if (done[i]) continue;
      Stream& s = streams[i];
      const bool running = s.client->Running();
      const Clock::time_point now = Clock::now();
      const size_t n = s.client->output_size();
      if (n != size[i] || !running) {
        s.longest_gap = std::max(s.longest_gap, seconds(now - last[i]));
        size[i] = n;
        last[i] = now;
      }
      if (!running) {
        done[i] = true;
        --left;
        s.ok = s.client->exit_ok();
        s.ended_after = seconds(now - fault);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    if (!done[i]) streams[i].client->Kill();  // counted as a hang below
  }
}

// After replica `faulted` failed: a stream it served went on on the other
// replica within the keepalive bound and finished the story, or ended
// UNAVAILABLE within that bound; a stream the other replica served is
// untouched. Nothing hangs.
void CheckStreams(std::vector<Stream>& streams, int faulted,
                  Clock::time_point fault) {
  FinishAll(streams, fault);
  for (Stream& s : streams) {
    INFO("stream on replica " << s.replica << ": " << s.client->log());
    if (s.replica == faulted) {
      std::printf(
          "stream on the faulted replica: %s; longest silence %.2f s, ended "
          "%.2f s after the fault\n",
          s.ok ? "resumed elsewhere" : "ended", s.longest_gap, s.ended_after);
    }
    if (s.replica != faulted || s.ok) {
      CHECK(s.ok);
      CHECK(s.client->Text() == kStories260KGreedyText);
      CHECK(s.longest_gap <= 3.0);
    } else {
      CHECK(s.client->log().find("UNAVAILABLE") != std::string::npos);
      CHECK(s.ended_after <= 3.0);
    }
  }
}

// Kills replica 0 of `service` (SIGKILL) while it serves a stream: the
// streams behave as CheckStreams demands, new generations succeed, and the
// replica, started again on its address, takes work again.
void CheckKill(MultiHost& hosts, const char* service) {
  const Replica& victim =
      (std::string(service) == "model" ? kModels : kSamplers)[0];
  std::vector<Stream> streams = StartOnBoth(hosts, service);
  const Clock::time_point fault = Clock::now();
  hosts.replica(service, 0).Signal(SIGKILL);
  CheckStreams(streams, 0, fault);
  for (int i = 0; i < 3; ++i) CHECK(hosts.Short());
  hosts.StartReplica(service, 0);
  REQUIRE(hosts.WaitHealthy(victim.host, victim.address));
  bool served = false;
  for (int i = 0; i < 20 && !served; ++i) {
    REQUIRE(hosts.Short());
    served = hosts.InfoField(victim, service, "sessions_opened") > 0;
  }
  CHECK(served);
}

// Cuts the link of replica 0 of `service` while it serves a stream, then
// restores it: the streams behave as CheckStreams demands, new generations
// succeed meanwhile, and the replica takes work again afterwards.
void CheckPartition(MultiHost& hosts, const char* service) {
  const Replica& victim =
      (std::string(service) == "model" ? kModels : kSamplers)[0];
  std::vector<Stream> streams = StartOnBoth(hosts, service);
  const int64_t before = hosts.InfoField(victim, service, "sessions_opened");
  const Clock::time_point fault = Clock::now();
  REQUIRE(hosts.lab().SetLink(victim.host, false).empty());
  CheckStreams(streams, 0, fault);
  for (int i = 0; i < 3; ++i) CHECK(hosts.Short());
  REQUIRE(hosts.lab().SetLink(victim.host, true).empty());
  bool served = false;
  for (int i = 0; i < 20 && !served; ++i) {
    REQUIRE(hosts.Short());
    served = hosts.InfoField(victim, service, "sessions_opened") > before;
  }
  CHECK(served);
}

bool Required() {
  const char* v = std::getenv("FM_REQUIRE_DEPLOY");
  return v != nullptr && std::string(v) == "1";
}

TEST_CASE("multi-host: replicas on hosts of their own, killed and "
          "partitioned", "[netns]") {
  NetnsLab lab;
  if (!lab.ok()) {
    if (Required()) FAIL(lab.why());
    ReportSkip(lab.why());
    return;
  }
  MultiHost hosts(lab);
  const std::string started = hosts.Start();
  INFO(started);
  REQUIRE(started.empty());

  // Generations spread over both replicas of each stage.
  for (int i = 0; i < 6; ++i) REQUIRE(hosts.Short());
  for (int i = 0; i < 2; ++i) {
    CHECK(hosts.ModelSessions(i) > 0);
    CHECK(hosts.SamplerSessions(i) > 0);
  }

  SECTION("a killed model replica") { CheckKill(hosts, "model"); }
  SECTION("a killed sampler replica") { CheckKill(hosts, "sampler"); }
  SECTION("a partitioned model replica") { CheckPartition(hosts, "model"); }
  SECTION("a partitioned sampler replica") { CheckPartition(hosts, "sampler"); }
}

}  // namespace
}  // namespace fm::testing
