#include "bench/gateway/bench_stack.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel_factory.h"
#include "tests/model/tiny_model_writer.h"
#include "tests/support/test_env.h"

namespace fm::bench {

using fm::testing::ServiceProcess;

const std::vector<Shape>& StoryShapes() {
  static const auto* shapes = new std::vector<Shape>{
      {"stories15M", 288, 768, 6, 6}, {"stories110M", 768, 2048, 12, 12}};
  return *shapes;
}

absl::StatusOr<std::string> WriteRandomCheckpoint(const Shape& shape) {
  fm::model::testing::TinyConfig config;
  config.dim = shape.dim;
  config.hidden_dim = shape.hidden_dim;
  config.n_layers = shape.n_layers;
  config.n_heads = shape.n_heads;
  config.n_kv_heads = shape.n_heads;
  config.vocab_size = 32000;
  config.seq_len = 512;
  const std::string path = fm::testing::MakeTempDir() + "/model.bin";
  auto weights = fm::model::testing::MakeRandomTinyModel(config, 1);
  if (absl::Status s = fm::model::testing::WriteLlama2cLegacy(weights, path);
      !s.ok()) {
    return s;
  }
  return path;
}

absl::StatusOr<std::unique_ptr<BenchStack>> BenchStack::Start(
    const std::string& model_path, const std::string& tokenizer_path,
    int threads, const std::vector<std::string>& gateway_flags) {
  auto stack = std::unique_ptr<BenchStack>(new BenchStack());
  // Every service with its metrics listener, as deployed.
  const std::string dir = fm::testing::MakeTempDir();
  auto with_metrics = [&dir](const std::string& name,
                             std::vector<std::string> flags) {
    flags.push_back("--metrics_listen=127.0.0.1:0");
    flags.push_back("--metrics_port_file=" + dir + "/" + name + ".port");
    return flags;
  };
  stack->tokenizer_ = std::make_unique<ServiceProcess>(
      "fm-tokenizer",
      with_metrics("tokenizer", {"--tokenizer_model=" + tokenizer_path}));
  stack->model_ = std::make_unique<ServiceProcess>(
      "fm-model",
      with_metrics("model", {"--model=" + model_path,
                             "--threads=" + std::to_string(threads)}));
  if (!stack->tokenizer_->WaitForServing()) {
    return absl::UnavailableError("fm-tokenizer did not start\n" +
                                  stack->tokenizer_->log());
  }
  // A constrained sampler needs the tokenizer's vocabulary.
  stack->sampler_ = std::make_unique<ServiceProcess>(
      "fm-sampler",
      with_metrics("sampler", {"--tokenizer=" + stack->tokenizer_->address()}));
  if (!stack->model_->WaitForServing(60000) ||
      !stack->sampler_->WaitForServing()) {
    return absl::UnavailableError("services did not start\n" +
                                  stack->model_->log());
  }
  std::vector<std::string> flags = {
      "--tokenizer=" + stack->tokenizer_->address(),
      "--model=" + stack->model_->address(),
      "--sampler=" + stack->sampler_->address(), "--health_period=100ms"};
  flags.insert(flags.end(), gateway_flags.begin(), gateway_flags.end());
  stack->gateway_ = std::make_unique<ServiceProcess>(
      "fm-gateway", with_metrics("gateway", flags));
  if (!stack->gateway_->WaitForServing(20000)) {
    return absl::UnavailableError("gateway did not start\n" +
                                  stack->gateway_->log());
  }
  for (const char* name : {"tokenizer", "model", "sampler", "gateway"}) {
    int port = 0;
    std::ifstream(dir + "/" + name + ".port") >> port;
    if (port <= 0) {
      return absl::UnavailableError(
          absl::StrCat(name, ": no metrics port file"));
    }
    stack->metrics_ports_.push_back(port);
  }
  auto channel = fm::MakeChannel(stack->gateway_->address());
  if (!channel.ok()) return channel.status();
  stack->stub_ = fm::v1::GatewayService::NewStub(*channel);
  return stack;
}

double StreamResult::TokensPerSecond() const {
  const double seconds = absl::ToDoubleSeconds(last - first);
  return tokens > 1 && seconds > 0 ? (tokens - 1) / seconds : 0;
}

double StreamResult::TimeToFirstTokenMs() const {
  return absl::ToDoubleMilliseconds(first - sent);
}

StreamResult GrpcStream(fm::v1::GatewayService::Stub* stub,
                        const fm::v1::GenerateRequest& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(fm::DeadlineAfter(absl::Minutes(5)));
  StreamResult result;
  result.sent = absl::Now();
  auto reader = stub->Generate(&ctx, request);
  fm::v1::GenerateResponse m;
  while (reader->Read(&m)) {
    if (m.token_ids_size() == 0) continue;
    const absl::Time now = absl::Now();
    if (result.tokens == 0) result.first = now;
    result.last = now;
    result.tokens += m.token_ids_size();
  }
  grpc::Status status = reader->Finish();
  result.ok = status.ok();
  if (!status.ok()) {
    std::fprintf(stderr, "generate: %s\n", status.error_message().c_str());
  }
  return result;
}

}  // namespace fm::bench
