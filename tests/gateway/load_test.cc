// Bounded load on the whole pipeline, hermetic so that it always runs:
// concurrent seeded streams must give the single-stream text (batching and
// threads change nothing), and a mix of completed, cancelled and timed-out
// requests must leave no model session, generation slot or file descriptor
// behind. Every loop is capped in count and in time.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/gateway/pipeline.h"

namespace fm::testing {
namespace {

using Clock = std::chrono::steady_clock;
using fm::v1::GenerateRequest;
using fm::v1::GenerateResponse;

int CountFds(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (::readdir(dir) != nullptr) ++n;
  ::closedir(dir);
  return n - 2;  // . and ..
}

GenerateRequest Seeded(int max_tokens) {
  GenerateRequest r;
  r.set_text("a");
  r.set_max_tokens(max_tokens);
  r.mutable_shorthand()->set_temperature(1.0f);
  r.set_seed(5);
  r.set_ignore_eos(true);
  r.set_no_cache(true);
  return r;
}

// Runs `body(i)` for i = 0, 1, ... on `threads` threads until `count`
// calls or `limit` passed.
template <typename Body>
int RunBounded(int threads, int count, std::chrono::seconds limit, Body body) {
  std::atomic<int> next{0};
  const auto stop = Clock::now() + limit;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count && Clock::now() < stop; i = next++) {
        body(i);
      }
    });
  }
  for (auto& th : pool) th.join();
  return std::min(next.load(), count);
}

TEST_CASE("concurrent seeded streams give the single-stream text (load L1)",
          "[gateway][load]") {
  Pipeline p({}, /*hermetic=*/true);
  REQUIRE(p.available());
  const GenerateRequest r = Seeded(24);
  const auto baseline = p.Generate(r);
  REQUIRE(baseline.status.ok());
  std::mutex mu;
  int ok = 0, same = 0;
  const int ran = RunBounded(4, 40, std::chrono::seconds(30), [&](int) {
    const auto result = p.Generate(r, absl::Seconds(20));
    std::lock_guard<std::mutex> lock(mu);
    ok += result.status.ok() ? 1 : 0;
    same += result.Text() == baseline.Text() ? 1 : 0;
  });
  INFO(ran << " requests");
  CHECK(ran >= 8);
  CHECK(ok == ran);
  CHECK(same == ran);
}

TEST_CASE("completions, cancels and deadlines leave nothing behind (load L3)",
          "[gateway][load]") {
  // 1 ms per decode step: a 48-token stream lasts ~50 ms, so the cancels
  // and the 3 ms deadlines below do land mid-stream.
  Pipeline p({"--debug_step_delay=1ms"}, /*hermetic=*/true);
  REQUIRE(p.available());
  const GenerateRequest r = Seeded(48);
  // Warm up every connection and thread pool, then take the baseline.
  RunBounded(4, 8, std::chrono::seconds(20),
             [&](int) { p.Generate(r, absl::Seconds(20)); });
  const int gateway_fds = CountFds(p.gateway->pid());
  const int model_fds = CountFds(p.model->pid());
  REQUIRE(gateway_fds > 0);

  std::mutex mu;
  std::map<grpc::StatusCode, int> statuses;
  const int ran = RunBounded(4, 120, std::chrono::seconds(60), [&](int i) {
    grpc::ClientContext ctx;
    // One in ten with a deadline too short to finish, one in ten cancelled
    // by the client after two messages, the rest run to the end.
    ctx.set_deadline(
        DeadlineAfter(i % 10 == 1 ? absl::Milliseconds(3) : absl::Seconds(20)));
    auto reader = p.stub->Generate(&ctx, r);
    GenerateResponse m;
    int read = 0;
    while (reader->Read(&m)) {
      if (i % 10 == 0 && ++read == 2) ctx.TryCancel();
    }
    const grpc::Status status = reader->Finish();
    std::lock_guard<std::mutex> lock(mu);
    ++statuses[status.error_code()];
  });
  INFO(ran << " requests");
  CHECK(ran >= 20);
  for (const auto& [code, n] : statuses) {
    INFO("status " << code << " x" << n);
    CHECK((code == grpc::StatusCode::OK ||
           code == grpc::StatusCode::CANCELLED ||
           code == grpc::StatusCode::DEADLINE_EXCEEDED));
  }
  CHECK(statuses[grpc::StatusCode::OK] >= ran / 2);
  CHECK(statuses[grpc::StatusCode::CANCELLED] >= 1);
  CHECK(statuses[grpc::StatusCode::DEADLINE_EXCEEDED] >= 1);

  // Everything released: model sessions, generation slots, descriptors
  // (polled: closing a stream settles asynchronously; 10 s at most).
  fm::v1::ModelInfo model_info;
  fm::v1::GatewayInfo gateway_info;
  int gw_fds = 0, md_fds = 0;
  for (int i = 0; i < 100; ++i) {
    model_info = p.ModelInfo();
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
    p.stub->Info(&ctx, {}, &gateway_info);
    gw_fds = CountFds(p.gateway->pid());
    md_fds = CountFds(p.model->pid());
    if (model_info.active_sessions() == 0 &&
        gateway_info.active_generations() == 0 && gw_fds <= gateway_fds + 4 &&
        md_fds <= model_fds + 4) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(model_info.active_sessions() == 0);
  CHECK(gateway_info.active_generations() == 0);
  INFO("fds: gateway " << gateway_fds << " -> " << gw_fds << ", model "
                       << model_fds << " -> " << md_fds);
  CHECK(gw_fds <= gateway_fds + 4);
  CHECK(md_fds <= model_fds + 4);
  // And the service still serves.
  CHECK(p.Generate(r).status.ok());
}

}  // namespace
}  // namespace fm::testing
