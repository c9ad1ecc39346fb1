// The four real binaries on free loopback ports, for the gateway's
// end-to-end and load tests: with stories260K and tok512 (skipped without
// FM_MODELS), or hermetic (a tokenizer the test trains and a random model).
#ifndef FM_TESTS_GATEWAY_PIPELINE_H_
#define FM_TESTS_GATEWAY_PIPELINE_H_

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/channel_factory.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "fm/v1/model.grpc.pb.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "tests/model/tiny_model_writer.h"
#include "tests/support/gateway_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/tiny_tokenizer.h"

namespace fm::testing {

// A hermetic model for the tiny tokenizer the tests train: random weights
// with the tokenizer's vocabulary, so generation produces arbitrary byte
// pieces (split UTF-8 characters) without any downloaded file.
struct HermeticModels {
  std::string tokenizer, model;
  // More fm-tokenizer flags.
  std::vector<std::string> tokenizer_flags = {};
};

inline HermeticModels MakeHermeticModels() {
  HermeticModels m;
  m.tokenizer = TinyTokenizerModel();
  auto tok = fm::tokenizer::SentencePieceTokenizer::Load(m.tokenizer);
  REQUIRE(tok.ok());
  fm::model::testing::TinyConfig config;
  config.vocab_size = (*tok)->vocab_size();
  config.seq_len = 128;
  m.model = MakeTempDir() + "/random.bin";
  REQUIRE(fm::model::testing::WriteLlama2cLegacy(
              fm::model::testing::MakeRandomTinyModel(config, 3), m.model)
              .ok());
  return m;
}

struct Pipeline {
  explicit Pipeline(std::vector<std::string> model_flags = {},
                    bool hermetic = false)
      : Pipeline(std::move(model_flags),
                 hermetic ? MakeHermeticModels()
                          : HermeticModels{ModelFile("tok512.model"),
                                           ModelFile("stories260K.bin")}) {}
  // The four services on these tokenizer and model files ("" for either:
  // not available, see available()).
  Pipeline(std::vector<std::string> model_flags, const HermeticModels& files)
      : profiles(MakeTempDir() + "/profiles.json") {
    tokenizer_model = files.tokenizer;
    model_file = files.model;
    if (tokenizer_model.empty() || model_file.empty()) return;
    std::vector<std::string> tokenizer_flags = files.tokenizer_flags;
    tokenizer_flags.push_back("--tokenizer_model=" + tokenizer_model);
    tokenizer = std::make_unique<ServiceProcess>("fm-tokenizer", tokenizer_flags);
    model_flags.push_back("--model=" + model_file);
    this->model_flags = model_flags;
    model = std::make_unique<ServiceProcess>("fm-model", model_flags);
    // The sampler loads its vocabulary from the tokenizer's address.
    REQUIRE(tokenizer->WaitForServing());
    StartSampler();
    REQUIRE(model->WaitForServing());
    StartGateway();
  }
  bool available() const { return tokenizer != nullptr; }

  // port 0: any free port; else restart on that port.
  void StartSampler(int port = 0) {
    std::vector<std::string> flags = {"--profiles=" + profiles};
    if (tokenizer != nullptr) {
      flags.push_back("--tokenizer=" + tokenizer->address());
    }
    if (port != 0)
      flags.push_back("--listen=127.0.0.1:" + std::to_string(port));
    sampler = std::make_unique<ServiceProcess>("fm-sampler", flags);
    if (!sampler->WaitForServing()) FAIL("fm-sampler: " << sampler->log());
  }
  // A new fm-model on the same port (after the old one was killed).
  void RestartModel(int port) {
    std::vector<std::string> flags = model_flags;
    flags.push_back("--listen=127.0.0.1:" + std::to_string(port));
    model = std::make_unique<ServiceProcess>("fm-model", flags);
    if (!model->WaitForServing()) FAIL("fm-model: " << model->log());
  }
  void StartGateway(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {
        "--tokenizer=" + tokenizer->address(), "--model=" + model->address(),
        "--sampler=" + sampler->address(), "--health_period=100ms"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    gateway = std::make_unique<ServiceProcess>("fm-gateway", flags);
    INFO(gateway->log());
    REQUIRE(gateway->WaitForServing(15000));
    auto channel = MakeChannel(gateway->address());
    REQUIRE(channel.ok());
    stub = fm::v1::GatewayService::NewStub(*channel);
  }

  using Result = GenerateResult;

  Result Generate(const fm::v1::GenerateRequest& request,
                  absl::Duration timeout = absl::Seconds(60)) {
    return RunGenerate(*stub, request, timeout);
  }

  // Generate is refused with INVALID_ARGUMENT whose message contains
  // `says` (the field and value it names).
  void ExpectInvalidArgument(const fm::v1::GenerateRequest& request,
                             const std::string& says) {
    const Result out = Generate(request);
    CAPTURE(says, out.status.error_message());
    CHECK(out.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(out.status.error_message(), Catch::Contains(says));
  }

  fm::v1::ModelInfo ModelInfo() {
    auto channel = MakeChannel(model->address());
    auto stub = fm::v1::ModelService::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
    fm::v1::ModelInfo info;
    stub->Info(&ctx, {}, &info);
    return info;
  }

  std::string profiles;
  std::string tokenizer_model, model_file;
  std::vector<std::string> model_flags;
  std::unique_ptr<ServiceProcess> tokenizer, model, sampler, gateway;
  std::unique_ptr<fm::v1::GatewayService::Stub> stub;
};

#define REQUIRE_PIPELINE(p)                                                \
  if (!(p).available()) {                                                  \
    ReportSkip("stories260K.bin / tok512.model not found: set FM_MODELS"); \
    return;                                                                \
  }

}  // namespace fm::testing

#endif  // FM_TESTS_GATEWAY_PIPELINE_H_
