// fm-sampler end to end: the real binary on a free loopback port, driven
// over gRPC and through fmctl.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/chain_proto_json.h"
#include "common/channel_factory.h"
#include "fm/v1/sampler.grpc.pb.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using fm::v1::SampleRequest;
using fm::v1::SampleResponse;

struct Server {
  explicit Server(std::vector<std::string> args = {})
      : process("fm-sampler", std::move(args)) {
    INFO(process.log());
    REQUIRE(process.WaitForServing());
    auto channel = MakeChannel(process.address());
    REQUIRE(channel.ok());
    stub = fm::v1::SamplerService::NewStub(*channel);
  }
  grpc::Status Sample(const SampleRequest& request, SampleResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(10)));
    return stub->Sample(&ctx, request, response);
  }
  ServiceProcess process;
  std::unique_ptr<fm::v1::SamplerService::Stub> stub;
};

fm::v1::Logits MakeLogits(const std::vector<float>& values) {
  fm::v1::Logits logits;
  logits.set_vocab_size(static_cast<int>(values.size()));
  for (float v : values) logits.mutable_f32()->add_values(v);
  return logits;
}

SampleRequest Request(const std::string& chain_json,
                      const std::vector<float>& logits, int count,
                      uint64_t seed) {
  SampleRequest r;
  auto chain = ChainFromJson(chain_json);
  REQUIRE(chain.ok());
  *r.mutable_sampling()->mutable_chain() = *chain;
  r.set_seed(seed);
  for (int i = 0; i < count; ++i) {
    auto* in = r.add_inputs();
    in->set_step(i);
    *in->mutable_logits() = MakeLogits(logits);
  }
  return r;
}

std::vector<int> Ids(const SampleResponse& r) {
  std::vector<int> ids;
  for (const auto& t : r.tokens()) ids.push_back(t.id());
  return ids;
}

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 0.5f, 2.5f, -1.0f};
const char* kDist =
    R"([{"stage":"temperature","temperature":1.0},{"stage":"dist"}])";

TEST_CASE("ListStages describes every stage the issue names",
          "[sampler_service]") {
  Server server;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(10)));
  fm::v1::ListStagesResponse stages;
  REQUIRE(server.stub->ListStages(&ctx, {}, &stages).ok());
  std::map<std::string, fm::v1::StageInfo> by_name;
  for (const auto& s : stages.stages()) by_name[s.name()] = s;
  for (const char* name :
       {"greedy", "temperature", "top_k", "top_p", "min_p", "typical_p",
        "top_n_sigma", "xtc", "mirostat_v2", "repetition_penalty",
        "presence_penalty", "frequency_penalty", "dry", "logit_bias", "allow",
        "ban", "dist"}) {
    INFO(name);
    REQUIRE(by_name.count(name) == 1);
    CHECK_FALSE(by_name[name].description().empty());
  }
  CHECK(by_name["dist"].kind() == "selector");
  CHECK(by_name["top_k"].kind() == "filter");
  const auto& k = by_name["top_k"].params(0);
  CHECK(k.name() == "k");
  CHECK_FALSE(k.range().empty());
  CHECK_FALSE(k.default_json().empty());
}

TEST_CASE("greedy picks the argmax and a seed makes draws repeatable",
          "[sampler_service]") {
  Server server;
  SampleResponse greedy;
  REQUIRE(
      server.Sample(Request(R"([{"stage":"greedy"}])", kLogits, 3, 1), &greedy)
          .ok());
  CHECK(Ids(greedy) == std::vector<int>{1, 1, 1});

  SampleResponse a, b;
  REQUIRE(server.Sample(Request(kDist, kLogits, 50, 42), &a).ok());
  REQUIRE(server.Sample(Request(kDist, kLogits, 50, 42), &b).ok());
  CHECK(Ids(a) == Ids(b));
  CHECK(a.seed() == 42);
  const std::vector<int> drawn = Ids(a);
  std::set<int> distinct(drawn.begin(), drawn.end());
  CHECK(distinct.size() > 2);  // really sampling

  SampleRequest unseeded = Request(kDist, kLogits, 1, 0);
  unseeded.clear_seed();
  SampleResponse c;
  REQUIRE(server.Sample(unseeded, &c).ok());
  SampleRequest replay = Request(kDist, kLogits, 1, c.seed());
  SampleResponse d;
  REQUIRE(server.Sample(replay, &d).ok());
  CHECK(Ids(c) == Ids(d));  // the returned seed reproduces the draw
}

TEST_CASE("the same seed gives the same draws from two processes",
          "[sampler_service]") {
  Server one, two;
  SampleResponse a, b;
  const char* chain =
      R"([{"stage":"top_k","k":4},{"stage":"top_p","p":0.9},{"stage":"temperature","temperature":0.7},{"stage":"dist"}])";
  REQUIRE(one.Sample(Request(chain, kLogits, 40, 7), &a).ok());
  REQUIRE(two.Sample(Request(chain, kLogits, 40, 7), &b).ok());
  CHECK(Ids(a) == Ids(b));
}

TEST_CASE("logprobs raw and processed, top alternatives, trace, shadows",
          "[sampler_service]") {
  Server server;
  SampleRequest r =
      Request(R"([{"stage":"top_k","k":2},{"stage":"greedy"}])", kLogits, 1, 1);
  r.mutable_options()->set_top_logprobs(3);
  r.mutable_options()->set_trace(true);
  r.mutable_options()->add_shadow_profiles("default");
  SampleResponse raw;
  REQUIRE(server.Sample(r, &raw).ok());
  const auto& t = raw.tokens(0);
  CHECK(t.id() == 1);
  double z = 0;
  for (float v : kLogits) z += std::exp(v - 3.0);
  CHECK(t.logprob() == Approx(-std::log(z)).epsilon(1e-4));  // raw softmax
  REQUIRE(t.top_logprobs_size() == 3);
  CHECK(t.top_logprobs(1).id() == 4);
  REQUIRE(t.trace_size() == 2);
  CHECK(t.trace(0).stage() == "top_k");
  CHECK(t.trace(0).candidates() == 2);
  REQUIRE(t.shadows_size() == 1);
  CHECK(t.shadows(0).profile() == "default");

  r.mutable_options()->set_logprobs_mode(fm::v1::LOGPROBS_MODE_PROCESSED);
  SampleResponse processed;
  REQUIRE(server.Sample(r, &processed).ok());
  const double z2 = 1.0 + std::exp(2.5 - 3.0);  // only ids 1 and 4 remain
  CHECK(processed.tokens(0).logprob() == Approx(-std::log(z2)).epsilon(1e-4));
}

TEST_CASE("bad input gets a clear status and the service keeps serving",
          "[sampler_service]") {
  Server server;
  SampleResponse out;
  auto expect = [&](const SampleRequest& r, grpc::StatusCode code,
                    const std::string& needle) {
    grpc::Status s = server.Sample(r, &out);
    INFO(s.error_message());
    CHECK(s.error_code() == code);
    CHECK_THAT(s.error_message(), Catch::Contains(needle));
  };
  SampleRequest nan = Request(kDist, {1.0f, NAN, 2.0f}, 1, 1);
  expect(nan, grpc::StatusCode::INVALID_ARGUMENT, "logits[1]");
  SampleRequest inf = Request(kDist, {1.0f, 2.0f, INFINITY}, 1, 1);
  expect(inf, grpc::StatusCode::INVALID_ARGUMENT, "logits[2]");
  expect(Request(R"([{"stage":"no_such"},{"stage":"dist"}])", kLogits, 1, 1),
         grpc::StatusCode::NOT_FOUND, "no_such");
  expect(
      Request(R"([{"stage":"top_p","p":1.5},{"stage":"dist"}])", kLogits, 1, 1),
      grpc::StatusCode::INVALID_ARGUMENT, "top_p");
  expect(Request(R"([{"stage":"top_k","k":3}])", kLogits, 1, 1),
         grpc::StatusCode::INVALID_ARGUMENT, "selector");
  SampleRequest profile = Request(kDist, kLogits, 1, 1);
  profile.mutable_sampling()->set_profile("nope");
  expect(profile, grpc::StatusCode::NOT_FOUND, "nope");
  SampleRequest history = Request(kDist, kLogits, 1, 1);
  history.mutable_inputs(0)->add_history(6);
  expect(history, grpc::StatusCode::INVALID_ARGUMENT, "history[0] = 6");
  SampleRequest empty = Request(kDist, {}, 1, 1);
  expect(empty, grpc::StatusCode::INVALID_ARGUMENT, "vocab_size");
  // A 20-byte request declaring a huge vocabulary must not allocate it.
  SampleRequest huge = Request(kDist, kLogits, 1, 1);
  fm::v1::Logits* sparse = huge.mutable_inputs(0)->mutable_logits();
  sparse->Clear();
  sparse->set_vocab_size(2147483647);
  sparse->mutable_top()->add_ids(0);
  sparse->mutable_top()->add_values(1.0f);
  expect(huge, grpc::StatusCode::INVALID_ARGUMENT, "exceeds the limit");
  SampleRequest too_many = Request(kDist, kLogits, 1, 1);
  too_many.mutable_options()->set_top_logprobs(21);
  expect(too_many, grpc::StatusCode::INVALID_ARGUMENT, "top_logprobs");

  CHECK(server.Sample(Request(kDist, kLogits, 1, 1), &out).ok());
}

TEST_CASE("a session keeps history, seed and chain, with in-band errors",
          "[sampler_service]") {
  Server server;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(10)));
  auto stream = server.stub->Session(&ctx);
  fm::v1::SamplerSessionRequest start;
  auto chain = ChainFromJson(
      R"([{"stage":"repetition_penalty","penalty":10.0,"last_n":64},{"stage":"greedy"}])");
  REQUIRE(chain.ok());
  *start.mutable_start()->mutable_sampling()->mutable_chain() = *chain;
  start.mutable_start()->set_seed(5);
  start.mutable_start()->set_vocab_size(6);
  start.mutable_start()->add_prompt_ids(1);  // penalise the argmax at once
  REQUIRE(stream->Write(start));
  fm::v1::SamplerSessionResponse started;
  REQUIRE(stream->Read(&started));
  CHECK(started.seed() == 5);
  CHECK(started.chain().stages_size() == 2);

  std::vector<int> picks;
  for (int step = 0; step < 3; ++step) {
    fm::v1::SamplerSessionRequest req;
    auto* in = req.mutable_step()->add_inputs();
    *in->mutable_logits() = MakeLogits(kLogits);
    REQUIRE(stream->Write(req));
    fm::v1::SamplerSessionResponse resp;
    REQUIRE(stream->Read(&resp));
    REQUIRE_FALSE(resp.has_error());
    picks.push_back(resp.tokens(0).id());
  }
  // 1 is penalised by the prompt, then 4 and 2 by their own use.
  CHECK(picks == std::vector<int>{4, 2, 0});

  fm::v1::SamplerSessionRequest bad;
  *bad.mutable_step()->add_inputs()->mutable_logits() = MakeLogits({1, 2, 3});
  REQUIRE(stream->Write(bad));
  fm::v1::SamplerSessionResponse err;
  REQUIRE(stream->Read(&err));
  REQUIRE(err.has_error());
  CHECK_THAT(err.error().message(), Catch::Contains("vocabulary size 6"));

  // A session step on more sequences than allowed is refused in-band.
  fm::v1::SamplerSessionRequest wide;
  for (int i = 0; i < 300; ++i) {
    auto* in = wide.mutable_step()->add_inputs();
    in->set_sequence_index(1000 + i);
    *in->mutable_logits() = MakeLogits(kLogits);
  }
  REQUIRE(stream->Write(wide));
  fm::v1::SamplerSessionResponse refused;
  REQUIRE(stream->Read(&refused));
  CHECK(refused.has_error());

  fm::v1::SamplerSessionRequest good;
  *good.mutable_step()->add_inputs()->mutable_logits() = MakeLogits(kLogits);
  REQUIRE(stream->Write(good));
  fm::v1::SamplerSessionResponse ok;
  REQUIRE(stream->Read(&ok));
  CHECK_FALSE(ok.has_error());
  stream->WritesDone();
  CHECK(stream->Finish().ok());
}

fm::v1::SamplerInfo Info(Server& server) {
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
  fm::v1::SamplerInfo info;
  REQUIRE(server.stub->Info(&ctx, {}, &info).ok());
  return info;
}

TEST_CASE("Info counts sessions, Sample calls and sampled tokens",
          "[sampler_service]") {
  Server server;
  fm::v1::SamplerInfo info = Info(server);
  CHECK(info.sessions_opened() == 0);
  CHECK(info.sample_calls() == 0);
  CHECK(info.profiles() == 1);  // default
  CHECK(info.stages() > 10);

  SampleResponse response;
  REQUIRE(server.Sample(Request(kDist, kLogits, 3, 7), &response).ok());
  SampleResponse refused;
  CHECK_FALSE(server.Sample(Request(kDist, {}, 1, 7), &refused).ok());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(10)));
    auto stream = server.stub->Session(&ctx);
    fm::v1::SamplerSessionRequest start;
    *start.mutable_start()->mutable_sampling()->mutable_chain() =
        *ChainFromJson(kDist);
    start.mutable_start()->set_vocab_size(6);
    REQUIRE(stream->Write(start));
    fm::v1::SamplerSessionResponse resp;
    REQUIRE(stream->Read(&resp));
    fm::v1::SamplerSessionRequest step;
    for (int seq = 0; seq < 2; ++seq) {
      auto* in = step.mutable_step()->add_inputs();
      in->set_sequence_index(seq);
      *in->mutable_logits() = MakeLogits(kLogits);
    }
    REQUIRE(stream->Write(step));
    REQUIRE(stream->Read(&resp));
    REQUIRE_FALSE(resp.has_error());
    info = Info(server);
    CHECK(info.active_sessions() == 1);
    stream->WritesDone();
    CHECK(stream->Finish().ok());
  }
  // The session's end is counted once its reactor is done.
  for (int i = 0; i < 100 && Info(server).sessions_closed() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  info = Info(server);
  CHECK(info.sessions_opened() == 1);
  CHECK(info.sessions_closed() == 1);
  CHECK(info.active_sessions() == 0);
  CHECK(info.sample_calls() == 2);    // the refused one too
  CHECK(info.tokens_sampled() == 5);  // 3 by Sample, 2 in the session

  // fmctl prints it.
  CommandResult r = RunCommand(
      {"fmctl", "--sampler=" + server.process.address(), "info"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("\"tokens_sampled\": \"5\""));
}

TEST_CASE("a new session continues a sequence from its sampled tokens",
          "[sampler_service]") {
  Server server;
  // Penalties (history) and a seeded draw (step): both must carry over.
  auto chain = ChainFromJson(
      R"([{"stage":"repetition_penalty","penalty":3.0,"last_n":64},)"
      R"({"stage":"temperature","temperature":1.5},{"stage":"dist"}])");
  REQUIRE(chain.ok());
  auto open = [&](grpc::ClientContext* ctx) {
    ctx->set_deadline(DeadlineAfter(absl::Seconds(10)));
    auto stream = server.stub->Session(ctx);
    fm::v1::SamplerSessionRequest start;
    *start.mutable_start()->mutable_sampling()->mutable_chain() = *chain;
    start.mutable_start()->set_seed(17);
    start.mutable_start()->set_vocab_size(6);
    start.mutable_start()->add_prompt_ids(1);
    REQUIRE(stream->Write(start));
    fm::v1::SamplerSessionResponse started;
    REQUIRE(stream->Read(&started));
    return stream;
  };
  auto step = [&](auto& stream, const std::vector<int32_t>& resume,
                  fm::v1::SamplerSessionResponse* out) {
    fm::v1::SamplerSessionRequest req;
    auto* in = req.mutable_step()->add_inputs();
    in->set_sequence_index(3);
    *in->mutable_logits() = MakeLogits(kLogits);
    in->mutable_resume_generated_ids()->Assign(resume.begin(), resume.end());
    REQUIRE(stream->Write(req));
    REQUIRE(stream->Read(out));
  };
  // The reference: 12 steps in one session.
  std::vector<int32_t> picks;
  {
    grpc::ClientContext ctx;
    auto stream = open(&ctx);
    for (int i = 0; i < 12; ++i) {
      fm::v1::SamplerSessionResponse r;
      step(stream, {}, &r);
      REQUIRE_FALSE(r.has_error());
      picks.push_back(r.tokens(0).id());
    }
    stream->WritesDone();
    CHECK(stream->Finish().ok());
  }
  // The same sequence continued in a new session after 7 of them.
  grpc::ClientContext ctx;
  auto stream = open(&ctx);
  std::vector<int32_t> done(picks.begin(), picks.begin() + 7);
  std::vector<int32_t> continued;
  for (int i = 7; i < 12; ++i) {
    fm::v1::SamplerSessionResponse r;
    step(stream, i == 7 ? done : std::vector<int32_t>{}, &r);
    REQUIRE_FALSE(r.has_error());
    CHECK(r.tokens(0).step() == i);
    continued.push_back(r.tokens(0).id());
  }
  CHECK(continued == std::vector<int32_t>(picks.begin() + 7, picks.end()));
  // Only a sequence new to the session can be continued; ids are checked.
  fm::v1::SamplerSessionResponse again;
  step(stream, {2}, &again);
  REQUIRE(again.has_error());
  CHECK_THAT(again.error().message(), Catch::Contains("already exists"));
  // One index twice in a step is refused, and nothing is created.
  fm::v1::SamplerSessionRequest twice;
  for (int k = 0; k < 2; ++k) {
    auto* in = twice.mutable_step()->add_inputs();
    in->set_sequence_index(8);
    *in->mutable_logits() = MakeLogits(kLogits);
  }
  REQUIRE(stream->Write(twice));
  fm::v1::SamplerSessionResponse refused;
  REQUIRE(stream->Read(&refused));
  REQUIRE(refused.has_error());
  CHECK_THAT(refused.error().message(), Catch::Contains("appears twice"));
  stream->WritesDone();
  CHECK(stream->Finish().ok());
}

TEST_CASE("profiles persist across a restart", "[sampler_service]") {
  const std::string file = MakeTempDir() + "/profiles.json";
  const char* chain = R"([{"stage":"top_k","k":3},{"stage":"greedy"}])";
  {
    Server server({"--profiles=" + file});
    const std::string flag = "--sampler=" + server.process.address();
    CHECK(RunCommand({"fmctl", flag, "profiles", "put", "careful", chain})
              .exit_code == 0);
    CommandResult list = RunCommand({"fmctl", flag, "profiles", "list"});
    CHECK_THAT(list.out, Catch::Contains("careful"));
    CHECK_THAT(list.out, Catch::Contains("default"));
    CommandResult del =
        RunCommand({"fmctl", flag, "profiles", "delete", "default"});
    CHECK(del.exit_code == 1);
    CHECK_THAT(del.err, Catch::Contains("FAILED_PRECONDITION"));
  }
  Server restarted({"--profiles=" + file});
  const std::string flag = "--sampler=" + restarted.process.address();
  CommandResult get = RunCommand({"fmctl", flag, "profiles", "get", "careful"});
  CHECK(get.exit_code == 0);
  CHECK_THAT(get.out, Catch::Contains("top_k"));
  CHECK(
      RunCommand({"fmctl", flag, "profiles", "delete", "careful"}).exit_code ==
      0);
  CHECK(RunCommand({"fmctl", flag, "profiles", "get", "careful"}).exit_code ==
        1);
}

TEST_CASE("profile updates while sessions sample", "[sampler_service]") {
  Server server;
  const std::string flag = "--sampler=" + server.process.address();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, samples{0};
  std::thread sampler([&] {
    for (int i = 0; i < 200 && !stop; ++i) {  // bounded
      SampleRequest r = Request(kDist, kLogits, 1, i);
      r.mutable_sampling()->set_profile("hot");
      SampleResponse out;
      grpc::Status s = server.Sample(r, &out);
      // NOT_FOUND only before the first put; anything else is a failure.
      if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) ++failures;
      if (s.ok()) ++samples;
    }
  });
  for (int i = 0; i < 10; ++i) {
    const std::string chain =
        "[{\"stage\":\"top_k\",\"k\":" + std::to_string(1 + i % 5) +
        "},{\"stage\":\"dist\"}]";
    CHECK(RunCommand({"fmctl", flag, "profiles", "put", "hot", chain})
              .exit_code == 0);
  }
  stop = true;
  sampler.join();
  CHECK(failures == 0);
}

TEST_CASE("fmctl sample prints K draws from a logits file",
          "[sampler_service]") {
  Server server;
  const std::string path = MakeTempDir() + "/logits.f32";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(kLogits.data()),
              kLogits.size() * sizeof(float));
  }
  const std::string flag = "--sampler=" + server.process.address();
  CommandResult a =
      RunCommand({"fmctl", flag, "sample", "--logits=" + path,
                  std::string("--chain=") + kDist, "--seed=9", "--count=20"});
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  std::vector<std::string> lines =
      absl::StrSplit(a.out, '\n', absl::SkipEmpty());
  CHECK(lines.size() == 20);
  CommandResult b =
      RunCommand({"fmctl", flag, "sample", "--logits=" + path,
                  std::string("--chain=") + kDist, "--seed=9", "--count=20"});
  CHECK(a.out == b.out);
  CommandResult greedy =
      RunCommand({"fmctl", flag, "sample", "--logits=" + path,
                  "--chain=[{\"stage\":\"greedy\"}]", "--seed=1", "--count=2"});
  CHECK(greedy.out == "1\n1\n");
}

TEST_CASE("fmctl sample --count past the per-call limit is one seed stream",
          "[sampler_service]") {
  Server server;
  grpc::ClientContext info_ctx;
  fm::v1::SamplerInfo info;
  REQUIRE(server.stub->Info(&info_ctx, {}, &info).ok());
  const int limit = info.max_inputs();
  REQUIRE(limit == 256);
  const std::string path = MakeTempDir() + "/logits.f32";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(kLogits.data()),
             kLogits.size() * sizeof(float));
  const std::string flag = "--sampler=" + server.process.address();
  const int count = 2 * limit + 88;
  CommandResult chunked =
      RunCommand({"fmctl", flag, "sample", "--logits=" + path,
                  std::string("--chain=") + kDist, "--seed=9",
                  "--count=" + std::to_string(count)});
  INFO(chunked.err);
  REQUIRE(chunked.exit_code == 0);
  std::vector<std::string> lines =
      absl::StrSplit(chunked.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == static_cast<size_t>(count));
  // Each call's draws are the ones steps first..first+k-1 of seed 9 give:
  // what one call of `count` inputs would return if the limit allowed it.
  for (int first = 0; first < count; first += limit) {
    SampleRequest r =
        Request(kDist, kLogits, std::min(limit, count - first), 9);
    for (int i = 0; i < r.inputs_size(); ++i) {
      r.mutable_inputs(i)->set_step(first + i);
    }
    SampleResponse direct;
    REQUIRE(server.Sample(r, &direct).ok());
    const std::vector<int> ids = Ids(direct);
    for (size_t i = 0; i < ids.size(); ++i) {
      REQUIRE(lines[first + i] == std::to_string(ids[i]));
    }
  }
  // Without --seed the service's seed is kept across the calls and told.
  CommandResult unseeded = RunCommand(
      {"fmctl", flag, "sample", "--logits=" + path,
       std::string("--chain=") + kDist, "--count=" + std::to_string(count)});
  REQUIRE(unseeded.exit_code == 0);
  REQUIRE(unseeded.err.rfind("seed: ", 0) == 0);
  const std::string seed = unseeded.err.substr(6, unseeded.err.find('\n') - 6);
  CommandResult replay =
      RunCommand({"fmctl", flag, "sample", "--logits=" + path,
                  std::string("--chain=") + kDist, "--seed=" + seed,
                  "--count=" + std::to_string(count)});
  CHECK(replay.out == unseeded.out);
}

}  // namespace
}  // namespace fm::testing
