// fm-model end to end: the real binary on a free loopback port, sessions
// over gRPC compared with the in-process model, limits, errors, cleanup.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/channel_factory.h"
#include "common/half.h"
#include "fm/v1/model.grpc.pb.h"
#include "services/model/cpu_features.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/llama_model.h"
#include "tests/model/tiny_model_writer.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using fm::model::LlamaModel;
using fm::v1::SessionRequest;
using fm::v1::SessionResponse;
using Stream = grpc::ClientReaderWriter<SessionRequest, SessionResponse>;

// A random tiny model written once per process (vocab 96, context 48).
const std::string& TinyModelPath() {
  static const std::string* path = [] {
    fm::model::testing::TinyConfig config;
    auto m = fm::model::testing::MakeRandomTinyModel(config, 7);
    auto* p = new std::string(MakeTempDir() + "/tiny.bin");
    REQUIRE(fm::model::testing::WriteLlama2cLegacy(m, *p).ok());
    return p;
  }();
  return *path;
}

struct Server {
  explicit Server(std::vector<std::string> extra = {})
      : process("fm-model", [&] {
          extra.push_back("--model=" + TinyModelPath());
          return extra;
        }()) {
    INFO(process.log());
    REQUIRE(process.WaitForServing());
    auto channel = MakeChannel(process.address());
    REQUIRE(channel.ok());
    stub = fm::v1::ModelService::NewStub(*channel);
  }
  fm::v1::ModelInfo Info() {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(10)));
    fm::v1::ModelInfo info;
    REQUIRE(stub->Info(&ctx, {}, &info).ok());
    return info;
  }
  ServiceProcess process;
  std::unique_ptr<fm::v1::ModelService::Stub> stub;
};

struct Session {
  explicit Session(Server& server) {
    ctx.set_deadline(DeadlineAfter(absl::Seconds(30)));
    stream = server.stub->Session(&ctx);
  }
  SessionResponse Call(const SessionRequest& request) {
    REQUIRE(stream->Write(request));
    SessionResponse response;
    REQUIRE(stream->Read(&response));
    return response;
  }
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream;
};

SessionRequest Append(int32_t seq, std::vector<int32_t> ids,
                      bool all_logits = false) {
  SessionRequest r;
  auto* a = r.add_ops()->mutable_append();
  a->set_sequence_id(seq);
  for (int32_t id : ids) a->add_token_ids(id);
  a->set_all_logits(all_logits);
  return r;
}

std::vector<float> Dense(const fm::v1::Logits& logits) {
  return {logits.f32().values().begin(), logits.f32().values().end()};
}

// The in-process model, loaded as fm-model loads it by default (F16 KV
// cache): the reference for what the service returns.
std::vector<float> LocalLogits(const std::vector<int32_t>& ids) {
  fm::model::LoadOptions options;
  options.kv_dtype = fm::model::KvDType::kF16;
  auto model = LlamaModel::Load(TinyModelPath(), options);
  REQUIRE(model.ok());
  auto seq = (*model)->NewSequence(0);
  auto logits = (*model)->Forward(seq.get(), ids);
  REQUIRE(logits.ok());
  return *logits;
}

TEST_CASE("Info describes the model and the load", "[model_service]") {
  Server server;
  fm::v1::ModelInfo info = server.Info();
  CHECK(info.architecture() == "llama");
  CHECK(info.dim() == 64);
  CHECK(info.n_layers() == 2);
  CHECK(info.n_heads() == 4);
  CHECK(info.n_kv_heads() == 2);
  CHECK(info.vocab_size() == 96);
  CHECK(info.context_length() == 48);
  CHECK(info.parameters() > 0);
  CHECK(info.weight_bytes() > 0);
  CHECK(info.flops_per_token_decode() > 0);
  // K and V, 2 layers, kv_dim 32, F16 (the default) elements.
  CHECK(info.kv_dtype() == "f16");
  CHECK(info.kv_bytes_per_token() == 2 * 2 * 32 * 2);
  CHECK(info.model_sha256().size() == 64);
  CHECK_FALSE(info.blas_core().empty());
  CHECK(info.active_sessions() == 0);
  CHECK(info.kv_bytes_allocated() == 0);
  CHECK(info.resident_bytes() > 0);
  // What the file holds and how it runs.
  CHECK(info.file_context_length() == 48);
  CHECK(info.compute_dtype() == "F32");
  CHECK(info.tensor_types().at("F32") == 2 + 2 * 9);  // embedding, norm, layers
  CHECK(info.bits_per_weight() == 32.0);
  CHECK(info.streamed_bytes_per_token() > 0);
  CHECK(info.hyperparameters().at("rope_style") == "adjacent_pairs");
  CHECK(info.hyperparameters().at("ffn_activation") == "silu");
}

// FM_CPU_LIMIT set in this process's environment for the children started
// while it lives, and the previous value back after (this process itself
// detected its CPU long before).
class ScopedCpuLimit {
 public:
  explicit ScopedCpuLimit(const char* value) {
    if (const char* old = std::getenv("FM_CPU_LIMIT")) previous_ = old;
    ::setenv("FM_CPU_LIMIT", value, 1);
  }
  ~ScopedCpuLimit() {
    if (previous_.has_value()) {
      ::setenv("FM_CPU_LIMIT", previous_->c_str(), 1);
    } else {
      ::unsetenv("FM_CPU_LIMIT");
    }
  }

 private:
  std::optional<std::string> previous_;
};

TEST_CASE(
    "FM_CPU_LIMIT chooses the integer kernels, and a bad one stops "
    "start-up",
    "[model_service]") {
  {
    Server server;
    CHECK(server.Info().integer_kernels() ==
          std::string(fm::model::IntegerKernelName()));
  }
  if (fm::model::Cpu().avx2_fma_f16c) {
    ScopedCpuLimit limit("avx2");
    Server server;
    CHECK(server.Info().integer_kernels() == "avx2");
  }
  {
    ScopedCpuLimit limit("baseline");
    Server server;
    CHECK(server.Info().integer_kernels() == "scalar");
  }
  ScopedCpuLimit limit("avx-9000");
  ServiceProcess bad("fm-model", {"--model=" + TinyModelPath()});
  const int status = bad.WaitExit(10000);
  INFO(bad.log());
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(bad.log().find("FM_CPU_LIMIT is \"avx-9000\"; it must be unset, "
                       "\"avx2\" or \"baseline\"") != std::string::npos);
}

TEST_CASE("the flags ctx_size and kv_dtype shape the served model",
          "[model_service]") {
  Server server({"--ctx_size=20", "--kv_dtype=f32"});
  fm::v1::ModelInfo info = server.Info();
  CHECK(info.context_length() == 20);
  CHECK(info.file_context_length() == 48);
  CHECK(info.kv_dtype() == "f32");
  CHECK(info.kv_bytes_per_token() == 2 * 2 * 32 * 4);
  for (const char* bad : {"--kv_dtype=q8", "--ctx_size=-4"}) {
    ServiceProcess p("fm-model", {"--model=" + TinyModelPath(), bad});
    INFO(bad);
    const int status = p.WaitExit(20000);
    REQUIRE(status != -1);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);  // a usage error, named in the log
    CHECK_THAT(p.log(), Catch::Contains(std::string(bad).substr(2, 8)));
  }
}

TEST_CASE("prefill then decode over gRPC equals the in-process model",
          "[model_service]") {
  Server server;
  Session s(server);
  SessionResponse prefill = s.Call(Append(0, {1, 5, 9, 17}));
  REQUIRE_FALSE(prefill.has_error());
  REQUIRE(prefill.results_size() == 1);
  CHECK(prefill.results(0).length() == 4);
  CHECK(Dense(prefill.results(0).logits(0)) == LocalLogits({1, 5, 9, 17}));

  SessionResponse decode = s.Call(Append(0, {23}));
  REQUIRE_FALSE(decode.has_error());
  CHECK(decode.results(0).length() == 5);
  // The first response names the model file (as Info does), later ones not.
  CHECK(prefill.model_sha256() == server.Info().model_sha256());
  CHECK(prefill.model_sha256().size() == 64);
  CHECK(decode.model_sha256().empty());
  CHECK(Dense(decode.results(0).logits(0)) == LocalLogits({1, 5, 9, 17, 23}));

  // all_logits: one vector per appended position.
  SessionResponse all = s.Call(Append(1, {1, 5, 9}, true));
  REQUIRE(all.results(0).logits_size() == 3);
  CHECK(Dense(all.results(0).logits(2)) == LocalLogits({1, 5, 9}));
  s.stream->WritesDone();
  CHECK(s.stream->Finish().ok());
}

TEST_CASE("fork, truncate and drop over gRPC", "[model_service]") {
  Server server;
  Session s(server);
  REQUIRE_FALSE(s.Call(Append(0, {1, 5, 9, 17})).has_error());
  SessionRequest fork;
  auto* f = fork.add_ops()->mutable_fork();
  f->set_source_sequence_id(0);
  f->set_new_sequence_id(1);
  f->set_length(2);  // copy positions [0, 2): tokens 1 5
  auto* a = fork.add_ops()->mutable_append();
  a->set_sequence_id(1);
  a->add_token_ids(30);
  SessionResponse forked = s.Call(fork);
  REQUIRE_FALSE(forked.has_error());
  CHECK(Dense(forked.results(0).logits(0)) == LocalLogits({1, 5, 30}));

  SessionRequest truncate;
  truncate.add_ops()->mutable_truncate()->set_sequence_id(0);
  truncate.mutable_ops(0)->mutable_truncate()->set_length(3);
  *truncate.add_ops() = Append(0, {40}).ops(0);
  SessionResponse redone = s.Call(truncate);
  REQUIRE_FALSE(redone.has_error());
  CHECK(Dense(redone.results(0).logits(0)) == LocalLogits({1, 5, 9, 40}));

  // A request may end with a fork (a rebuilt session whose sequences are
  // all equal to the shared prefix): answered, and the fork applied.
  SessionRequest trailing = Append(2, {1, 5, 9});
  auto* tf = trailing.add_ops()->mutable_fork();
  tf->set_source_sequence_id(2);
  tf->set_new_sequence_id(3);
  SessionResponse tail = s.Call(trailing);
  REQUIRE_FALSE(tail.has_error());
  REQUIRE(tail.results_size() == 1);
  SessionResponse from_fork = s.Call(Append(3, {17}));
  REQUIRE_FALSE(from_fork.has_error());
  CHECK(Dense(from_fork.results(0).logits(0)) == LocalLogits({1, 5, 9, 17}));

  SessionRequest drop;
  drop.add_ops()->mutable_drop()->set_sequence_id(1);
  CHECK_FALSE(s.Call(drop).has_error());
  SessionResponse again = s.Call(drop);
  REQUIRE(again.has_error());
  CHECK(again.error().code() == static_cast<int>(grpc::StatusCode::NOT_FOUND));
}

TEST_CASE("f16 and top-K logits", "[model_service]") {
  Server server;
  Session s(server);
  const std::vector<float> want = LocalLogits({1, 5});
  SessionRequest r = Append(0, {1, 5});
  r.mutable_logits_format()->set_dtype(fm::v1::LOGITS_DTYPE_F16);
  SessionResponse half = s.Call(r);
  REQUIRE(half.results(0).logits(0).f16().size() == 2 * want.size());
  const std::string& bytes = half.results(0).logits(0).f16();
  for (size_t i = 0; i < want.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    CHECK(F16ToF32(h) == Approx(want[i]).margin(2e-3).epsilon(1e-3));
  }
  SessionRequest top = Append(1, {1, 5});
  top.mutable_logits_format()->set_top_k(5);
  SessionResponse head = s.Call(top);
  const auto& sparse = head.results(0).logits(0).top();
  REQUIRE(sparse.ids_size() == 5);
  std::vector<int> order(want.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return want[a] > want[b]; });
  for (int i = 0; i < 5; ++i) {
    CHECK(sparse.ids(i) == order[i]);
    CHECK(sparse.values(i) == want[order[i]]);
  }
}

TEST_CASE("a head among allowed ids: the top K of those ids only",
          "[model_service]") {
  Server server;
  Session s(server);
  const std::vector<float> want = LocalLogits({1, 5});
  const int vocab = static_cast<int>(want.size());
  auto bitmap = [&](const std::vector<int>& ids) {
    std::string bits((vocab + 7) / 8, '\0');
    for (int id : ids) bits[id / 8] |= static_cast<char>(1 << (id % 8));
    return bits;
  };
  std::vector<int> every_third;
  for (int id = 0; id < vocab; id += 3) every_third.push_back(id);
  SessionRequest r = Append(0, {1, 5});
  r.mutable_logits_format()->set_top_k(5);
  r.mutable_ops(0)->mutable_append()->set_allowed_ids(bitmap(every_third));
  SessionResponse head = s.Call(r);
  REQUIRE_FALSE(head.has_error());
  std::vector<int> order = every_third;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return want[a] > want[b] || (want[a] == want[b] && a < b);
  });
  const auto& sparse = head.results(0).logits(0).top();
  REQUIRE(sparse.ids_size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(sparse.ids(i) == order[i]);
    CHECK(sparse.values(i) == want[order[i]]);
  }
  // Fewer allowed than asked for: just those.
  SessionRequest two = Append(1, {1, 5});
  two.mutable_logits_format()->set_top_k(5);
  two.mutable_ops(0)->mutable_append()->set_allowed_ids(bitmap({7, 2}));
  SessionResponse few = s.Call(two);
  REQUIRE_FALSE(few.has_error());
  REQUIRE(few.results(0).logits(0).top().ids_size() == 2);
  CHECK(std::set<int>{few.results(0).logits(0).top().ids(0),
                      few.results(0).logits(0).top().ids(1)} ==
        std::set<int>{2, 7});

  // Refused, naming the field: a bitmap of the wrong size, one that allows
  // ids past the vocabulary, and one without a head to restrict.
  auto refused = [&](SessionRequest bad, const char* words) {
    SessionResponse out = s.Call(bad);
    REQUIRE(out.has_error());
    CHECK(out.error().code() ==
          static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    CHECK_THAT(
        out.error().message(),
        Catch::Contains("ops[0].append.allowed_ids") && Catch::Contains(words));
  };
  SessionRequest short_bits = Append(2, {1});
  short_bits.mutable_logits_format()->set_top_k(5);
  short_bits.mutable_ops(0)->mutable_append()->set_allowed_ids("\x01");
  refused(short_bits, "bytes");
  if (vocab % 8 != 0) {
    SessionRequest past = Append(2, {1});
    past.mutable_logits_format()->set_top_k(5);
    std::string bits = bitmap({0});
    bits.back() = static_cast<char>(0xFF);
    past.mutable_ops(0)->mutable_append()->set_allowed_ids(bits);
    refused(past, "past the vocabulary");
  }
  SessionRequest dense = Append(2, {1});
  dense.mutable_ops(0)->mutable_append()->set_allowed_ids(bitmap({0}));
  refused(dense, "top_k > 0");
  // The session goes on.
  CHECK_FALSE(s.Call(Append(2, {1})).has_error());
}

TEST_CASE("bad requests get an in-band error and the session goes on",
          "[model_service]") {
  Server server;
  Session s(server);
  auto code_of = [](const SessionResponse& r) { return r.error().code(); };
  SessionResponse bad_id = s.Call(Append(0, {1, 96}));
  REQUIRE(bad_id.has_error());
  CHECK(code_of(bad_id) ==
        static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  CHECK_THAT(bad_id.error().message(), Catch::Contains("96"));
  CHECK_THAT(bad_id.error().message(), Catch::Contains("vocabulary size"));

  CHECK(s.Call(Append(0, {-3})).has_error());
  CHECK(s.Call(Append(0, {})).has_error());
  CHECK(s.Call(SessionRequest()).has_error());

  // Fill the context (48), then one more is OUT_OF_RANGE.
  std::vector<int32_t> ids(48, 3);
  SessionResponse full = s.Call(Append(0, ids));
  REQUIRE_FALSE(full.has_error());
  SessionResponse past = s.Call(Append(0, {3}));
  REQUIRE(past.has_error());
  CHECK(code_of(past) == static_cast<int>(grpc::StatusCode::OUT_OF_RANGE));
  CHECK_THAT(past.error().message(), Catch::Contains("context_length 48"));

  // A request that fails half-way applies none of its ops.
  SessionRequest mixed = Append(1, {1, 2});
  *mixed.add_ops() = Append(0, {4}).ops(0);  // sequence 0 is full
  CHECK(s.Call(mixed).has_error());
  SessionRequest probe;
  probe.add_ops()->mutable_drop()->set_sequence_id(1);
  CHECK(code_of(s.Call(probe)) ==
        static_cast<int>(grpc::StatusCode::NOT_FOUND));

  // Still usable.
  SessionRequest truncate;
  truncate.add_ops()->mutable_truncate()->set_sequence_id(0);
  truncate.mutable_ops(0)->mutable_truncate()->set_length(2);
  CHECK_FALSE(s.Call(truncate).has_error());
  CHECK_FALSE(s.Call(Append(0, {3})).has_error());
}

TEST_CASE("sessions beyond --max_sessions are RESOURCE_EXHAUSTED",
          "[model_service]") {
  Server server({"--max_sessions=2"});
  Session a(server), b(server);
  REQUIRE_FALSE(a.Call(Append(0, {1})).has_error());
  REQUIRE_FALSE(b.Call(Append(0, {1})).has_error());
  Session c(server);
  c.stream->Write(Append(0, {1}));
  SessionResponse ignored;
  CHECK_FALSE(c.stream->Read(&ignored));
  grpc::Status status = c.stream->Finish();
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(status.error_message(), Catch::Contains("max 2"));
}

TEST_CASE("a cancelled session frees its cache at once", "[model_service]") {
  Server server;
  {
    Session s(server);
    REQUIRE_FALSE(s.Call(Append(0, {1, 2, 3})).has_error());
    CHECK(server.Info().active_sessions() == 1);
    CHECK(server.Info().active_sequences() == 1);
    s.ctx.TryCancel();
    s.stream->Finish();
  }
  fm::v1::ModelInfo info;
  for (int i = 0; i < 100; ++i) {  // bounded: 5 s
    info = server.Info();
    if (info.active_sessions() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(info.active_sessions() == 0);
  CHECK(info.active_sequences() == 0);
  CHECK(info.sessions_opened() == info.sessions_closed());
}

TEST_CASE("an idle session is ended by --idle_timeout", "[model_service]") {
  Server server({"--idle_timeout=1s"});
  Session s(server);
  REQUIRE_FALSE(s.Call(Append(0, {1})).has_error());
  SessionResponse ignored;
  // The server ends the stream; Read returns false within a few seconds.
  CHECK_FALSE(s.stream->Read(&ignored));
  grpc::Status status = s.stream->Finish();
  CHECK(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK_THAT(status.error_message(), Catch::Contains("idle"));
}

TEST_CASE("concurrent sessions get exactly their solo logits",
          "[model_service]") {
  Server server;
  constexpr int kSessions = 4;
  std::vector<std::vector<float>> got(kSessions);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] {
      Session s(server);
      s.Call(Append(0, {1, 2 + i}));
      for (int step = 0; step < 5; ++step) {
        got[i] = Dense(s.Call(Append(0, {10 + step})).results(0).logits(0));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSessions; ++i) {
    CHECK(got[i] == LocalLogits({1, 2 + i, 10, 11, 12, 13, 14}));
  }
}

TEST_CASE("fmctl info and forward", "[model_service]") {
  Server server;
  const std::string flag = "--model=" + server.process.address();
  CommandResult info = RunCommand({"fmctl", flag, "info"});
  CHECK(info.exit_code == 0);
  CHECK_THAT(info.out, Catch::Contains("\"vocab_size\": 96"));
  CommandResult fwd =
      RunCommand({"fmctl", flag, "forward", "--ids", "1 5 9", "--top", "3"});
  INFO(fwd.err);
  REQUIRE(fwd.exit_code == 0);
  const std::vector<float> want = LocalLogits({1, 5, 9});
  const int best = static_cast<int>(std::max_element(want.begin(), want.end()) -
                                    want.begin());
  CHECK_THAT(
      fwd.out,
      Catch::StartsWith("{\"logits\":[{\"id\":" + std::to_string(best) + ","));
  CommandResult bad = RunCommand({"fmctl", flag, "forward", "--ids", "1 500"});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("500"));
}

TEST_CASE("a corrupt model file stops fm-model with a clear message",
          "[model_service]") {
  const std::string path = MakeTempDir() + "/bad.bin";
  RunCommand({"/bin/sh", "-c", "head -c 100 /dev/zero > " + path});
  ServiceProcess p("fm-model", {"--model=" + path});
  REQUIRE(p.WaitExit(10000) != -1);
  CHECK_THAT(p.log(), Catch::Contains("cannot load model"));
}

}  // namespace
}  // namespace fm::testing
