// Constraint stages through the real fm-sampler: the vocabulary comes from
// a real fm-tokenizer (the committed tok512.model), sessions refuse what
// they cannot honour, and a constrained sequence continues exactly in a new
// session (its state rebuilt from the token history).
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "common/chain_proto_json.h"
#include "common/channel_factory.h"
#include "fm/v1/sampler.grpc.pb.h"
#include "fm/v1/tokenizer.grpc.pb.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

constexpr int kVocab = 512;  // tok512
constexpr int32_t kEos = 2;

struct Services {
  explicit Services(bool with_tokenizer = true) {
    tokenizer = std::make_unique<ServiceProcess>(
        "fm-tokenizer",
        std::vector<std::string>{"--tokenizer_model=" + SourceDir() +
                                 "/models/tok512.model"});
    REQUIRE(tokenizer->WaitForServing());
    std::vector<std::string> flags;
    if (with_tokenizer) flags.push_back("--tokenizer=" + tokenizer->address());
    sampler = std::make_unique<ServiceProcess>("fm-sampler", flags);
    REQUIRE(sampler->WaitForServing());
    stub = fm::v1::SamplerService::NewStub(*MakeChannel(sampler->address()));
    tokenizer_stub =
        fm::v1::TokenizerService::NewStub(*MakeChannel(tokenizer->address()));
  }
  std::string Decode(const std::vector<int32_t>& ids) {
    fm::v1::DecodeRequest request;
    for (int32_t id : ids) request.add_ids(id);
    fm::v1::DecodeResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
    REQUIRE(tokenizer_stub->Decode(&ctx, request, &response).ok());
    return response.text();
  }
  std::string TokenizerSha() {
    fm::v1::TokenizerInfo info;
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
    REQUIRE(tokenizer_stub->Info(&ctx, {}, &info).ok());
    return info.model_sha256();
  }
  std::unique_ptr<ServiceProcess> tokenizer, sampler;
  std::unique_ptr<fm::v1::SamplerService::Stub> stub;
  std::unique_ptr<fm::v1::TokenizerService::Stub> tokenizer_stub;
};

fm::v1::SamplerChain Chain(const std::string& json) {
  auto chain = ChainFromJson(json);
  REQUIRE(chain.ok());
  return *chain;
}

// Random logits over tok512 (a different vector per step).
fm::v1::Logits RandomLogits(std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  fm::v1::Logits logits;
  logits.set_vocab_size(kVocab);
  for (int i = 0; i < kVocab; ++i)
    logits.mutable_f32()->add_values(normal(rng));
  return logits;
}

using Stream =
    std::unique_ptr<grpc::ClientReaderWriter<fm::v1::SamplerSessionRequest,
                                             fm::v1::SamplerSessionResponse>>;

// Opens a session; the start's answer in `started`.
Stream Open(Services& s, grpc::ClientContext* ctx,
            const fm::v1::SamplerChain& chain,
            fm::v1::SamplerSessionResponse* started,
            const std::string& tokenizer_sha = "") {
  ctx->set_deadline(DeadlineAfter(absl::Seconds(20)));
  Stream stream = s.stub->Session(ctx);
  fm::v1::SamplerSessionRequest start;
  *start.mutable_start()->mutable_sampling()->mutable_chain() = chain;
  start.mutable_start()->set_seed(11);
  start.mutable_start()->set_vocab_size(kVocab);
  start.mutable_start()->add_prompt_ids(1);  // BOS
  start.mutable_start()->set_tokenizer_sha256(tokenizer_sha);
  REQUIRE(stream->Write(start));
  if (!stream->Read(started)) started->mutable_error()->set_code(-1);
  return stream;
}

TEST_CASE(
    "without --tokenizer a constrained session is refused, saying how "
    "to fix it",
    "[sampler_service][constraint]") {
  Services s(/*with_tokenizer=*/false);
  grpc::ClientContext ctx;
  fm::v1::SamplerSessionResponse started;
  Stream stream = Open(
      s, &ctx, Chain(R"([{"stage":"regex","pattern":"a+"},{"stage":"dist"}])"),
      &started);
  const grpc::Status status = stream->Finish();
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(),
             Catch::Contains("'regex'") && Catch::Contains("--tokenizer"));
  // Unconstrained sessions are unaffected.
  grpc::ClientContext ok_ctx;
  fm::v1::SamplerSessionResponse ok;
  Stream fine = Open(s, &ok_ctx, Chain(R"([{"stage":"greedy"}])"), &ok);
  CHECK_FALSE(ok.has_error());
  fine->WritesDone();
  CHECK(fine->Finish().ok());
}

TEST_CASE("a session for another tokenizer is refused",
          "[sampler_service][constraint]") {
  Services s;
  grpc::ClientContext ctx;
  fm::v1::SamplerSessionResponse started;
  Stream stream = Open(
      s, &ctx, Chain(R"([{"stage":"regex","pattern":"a+"},{"stage":"dist"}])"),
      &started, std::string(64, 'f'));
  const grpc::Status status = stream->Finish();
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains("tokenizer"));
}

TEST_CASE("a constrained sequence continues exactly in a new session",
          "[sampler_service][constraint]") {
  Services s;
  const std::string pattern = "[a-z]{3,6}( [a-z]{3,6}){0,2}\\.";
  const auto chain = Chain(
      R"([{"stage":"regex","pattern":")" +
      std::string("[a-z]{3,6}( [a-z]{3,6}){0,2}\\\\.") +
      R"("},{"stage":"temperature","temperature":1.0},{"stage":"dist"}])");
  std::vector<fm::v1::Logits> logits;
  std::mt19937 rng(3);
  for (int i = 0; i < 64; ++i) logits.push_back(RandomLogits(rng));
  auto step = [&](Stream& stream, int i, const std::vector<int32_t>& resume) {
    fm::v1::SamplerSessionRequest req;
    auto* in = req.mutable_step()->add_inputs();
    in->set_sequence_index(0);
    *in->mutable_logits() = logits[i];
    in->mutable_resume_generated_ids()->Assign(resume.begin(), resume.end());
    REQUIRE(stream->Write(req));
    fm::v1::SamplerSessionResponse r;
    REQUIRE(stream->Read(&r));
    INFO(r.error().message());
    REQUIRE_FALSE(r.has_error());
    return r.tokens(0).id();
  };
  // The reference: until end of generation in one session.
  std::vector<int32_t> picks;
  {
    grpc::ClientContext ctx;
    fm::v1::SamplerSessionResponse started;
    Stream stream = Open(s, &ctx, chain, &started, s.TokenizerSha());
    INFO(started.error().message());
    REQUIRE_FALSE(started.has_error());
    for (int i = 0; i < 64 && (picks.empty() || picks.back() != kEos); ++i) {
      picks.push_back(step(stream, i, {}));
    }
    stream->WritesDone();
    CHECK(stream->Finish().ok());
  }
  REQUIRE(picks.back() == kEos);
  std::vector<int32_t> text_ids(picks.begin(), picks.end() - 1);
  const std::string text = s.Decode(text_ids);
  CAPTURE(text);
  CHECK(std::regex_match(text, std::regex(pattern)));
  // Continued after half of it in a new session: the same tokens.
  const size_t half = picks.size() / 2;
  grpc::ClientContext ctx;
  fm::v1::SamplerSessionResponse started;
  Stream stream = Open(s, &ctx, chain, &started, s.TokenizerSha());
  std::vector<int32_t> continued(picks.begin(), picks.begin() + half);
  for (size_t i = half; i < picks.size(); ++i) {
    continued.push_back(step(
        stream, static_cast<int>(i),
        i == half ? std::vector<int32_t>(picks.begin(), picks.begin() + half)
                  : std::vector<int32_t>{}));
  }
  CHECK(continued == picks);
  stream->WritesDone();
  CHECK(stream->Finish().ok());
}

TEST_CASE("each token comes with the ids the constraint allows next",
          "[sampler_service][constraint]") {
  // With report_next_allowed the session names the next step's allowed
  // ids (what a model sends its head among). Checked against the sampler's
  // own picks: greedy over random logits must take the best id the
  // reported set allows, at every step.
  Services s;
  const auto chain =
      Chain(R"([{"stage":"regex","pattern":"[a-z]{2,8}( [a-z]{2,8}){0,3}\\."},)"
            R"({"stage":"greedy"}])");
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(20)));
  Stream stream = s.stub->Session(&ctx);
  fm::v1::SamplerSessionRequest start;
  *start.mutable_start()->mutable_sampling()->mutable_chain() = chain;
  start.mutable_start()->set_vocab_size(kVocab);
  start.mutable_start()->add_prompt_ids(1);
  start.mutable_start()->set_tokenizer_sha256(s.TokenizerSha());
  start.mutable_start()->mutable_options()->set_report_next_allowed(true);
  REQUIRE(stream->Write(start));
  fm::v1::SamplerSessionResponse started;
  REQUIRE(stream->Read(&started));
  REQUIRE_FALSE(started.has_error());
  std::mt19937 rng(5);
  std::string allowed;  // from the previous token; none before the first
  int steps = 0, narrowed = 0;
  for (; steps < 48; ++steps) {
    fm::v1::SamplerSessionRequest req;
    auto* in = req.mutable_step()->add_inputs();
    in->set_sequence_index(0);
    *in->mutable_logits() = RandomLogits(rng);
    const auto& values = in->logits().f32().values();
    REQUIRE(stream->Write(req));
    fm::v1::SamplerSessionResponse r;
    REQUIRE(stream->Read(&r));
    INFO(r.error().message());
    REQUIRE_FALSE(r.has_error());
    const int32_t pick = r.tokens(0).id();
    if (!allowed.empty()) {
      int32_t best = -1;
      int count = 0;
      for (int32_t id = 0; id < kVocab; ++id) {
        if (!((static_cast<uint8_t>(allowed[id / 8]) >> (id % 8)) & 1)) {
          continue;
        }
        ++count;
        if (best < 0 || values[id] > values[best]) best = id;
      }
      CAPTURE(steps, count);
      CHECK(pick == best);
      if (count < kVocab / 2) ++narrowed;
    }
    if (pick == kEos) break;
    allowed = r.tokens(0).next_allowed_ids();
    REQUIRE(allowed.size() == (kVocab + 7) / 8);
  }
  CHECK(steps < 48);  // the pattern ended the text
  CHECK(narrowed > 0);
  stream->WritesDone();
  CHECK(stream->Finish().ok());
}

TEST_CASE("stateless Sample constrains the generated part of the history",
          "[sampler_service][constraint]") {
  Services s;
  // After "ca" the choices leave "t" or "r"; the prompt (BOS) is not text.
  fm::v1::SampleRequest request;
  *request.mutable_sampling()->mutable_chain() = Chain(
      R"([{"stage":"choice","choices":["cat","car"]},{"stage":"greedy"}])");
  std::mt19937 rng(5);
  auto* in = request.add_inputs();
  *in->mutable_logits() = RandomLogits(rng);
  // BOS, then "c" "a" as byte pieces (<0x63> = 3 + 0x63, <0x61>).
  in->add_history(1);
  in->add_history(3 + 'c');
  in->add_history(3 + 'a');
  in->set_step(2);
  fm::v1::SampleResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(20)));
  const grpc::Status status = s.stub->Sample(&ctx, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  const std::string next = s.Decode({response.tokens(0).id()});
  CHECK((next == "t" || next == "r"));
}

TEST_CASE("ListStages declares the constraints",
          "[sampler_service][constraint]") {
  Services s(/*with_tokenizer=*/false);
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(10)));
  fm::v1::ListStagesResponse stages;
  REQUIRE(s.stub->ListStages(&ctx, {}, &stages).ok());
  std::map<std::string, fm::v1::StageInfo> by_name;
  for (const auto& stage : stages.stages()) by_name[stage.name()] = stage;
  for (const char* name : {"regex", "choice", "grammar"}) {
    CAPTURE(name);
    REQUIRE(by_name.count(name) == 1);
    const auto& info = by_name[name];
    CHECK(info.needs_vocabulary());
    CHECK_FALSE(info.draws_random());
    CHECK_FALSE(info.keeps_session_state());
    REQUIRE(info.params_size() == 1);
    CHECK(info.params(0).required());
    CHECK(info.example_json() != "{}");
  }
  CHECK(by_name["regex"].params(0).type() == "string");
  CHECK(by_name["choice"].params(0).type() == "string_list");
  CHECK(by_name["grammar"].params(0).type() == "string");
  REQUIRE(by_name.count("json") == 1);
  CHECK(by_name["json"].needs_vocabulary());
  CHECK_FALSE(by_name["top_k"].needs_vocabulary());
}

}  // namespace
}  // namespace fm::testing
