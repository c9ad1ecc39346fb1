// Request ids and access logs across the four real services: the id a
// client sends (or one the gateway makes) reaches the model's and the
// sampler's log lines, comes back in the response headers and in every
// error message; each RPC gets one access line; prompts stay out of the
// logs unless --log_prompts.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "common/channel_factory.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "tests/support/gateway_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using Json = nlohmann::json;

// The JSON lines of a service's log (other lines, if any, skipped).
std::vector<Json> JsonLines(const std::string& log) {
  std::vector<Json> lines;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (line.empty() || line.front() != '{') continue;
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

// Access lines ("message": "rpc") of `id` for `rpc` (a method path suffix).
std::vector<Json> AccessLines(const std::string& log, const std::string& id,
                              const std::string& rpc) {
  std::vector<Json> out;
  for (const Json& j : JsonLines(log)) {
    if (j.value("message", "") != "rpc" || j.value("request_id", "") != id) {
      continue;
    }
    const std::string method = j.value("rpc", "");
    if (method.size() >= rpc.size() &&
        method.compare(method.size() - rpc.size(), rpc.size(), rpc) == 0) {
      out.push_back(j);
    }
  }
  return out;
}

// Polls `log()` (every 50 ms, at most 5 s) until `found` holds: a service
// writes its access line when the call's last reference goes, a moment
// after the client saw the end.
template <typename Log, typename Pred>
bool Eventually(Log log, Pred found) {
  for (int i = 0; i < 100; ++i) {
    if (found(log())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

struct Stack {
  explicit Stack(std::vector<std::string> gateway_flags) {
    const std::vector<std::string> json = {"--log_format=json"};
    auto with = [&](std::vector<std::string> flags) {
      flags.insert(flags.end(), json.begin(), json.end());
      return flags;
    };
    tokenizer = std::make_unique<ServiceProcess>(
        "fm-tokenizer",
        with({"--tokenizer_model=" + ModelFile("tok512.model")}));
    model = std::make_unique<ServiceProcess>(
        "fm-model", with({"--model=" + ModelFile("stories260K.bin")}));
    REQUIRE(tokenizer->WaitForServing());
    sampler = std::make_unique<ServiceProcess>(
        "fm-sampler", with({"--profiles=" + MakeTempDir() + "/p.json",
                            "--tokenizer=" + tokenizer->address()}));
    REQUIRE(model->WaitForServing());
    REQUIRE(sampler->WaitForServing());
    std::vector<std::string> flags = {
        "--tokenizer=" + tokenizer->address(), "--model=" + model->address(),
        "--sampler=" + sampler->address(), "--health_period=100ms"};
    flags.insert(flags.end(), gateway_flags.begin(), gateway_flags.end());
    gateway = std::make_unique<ServiceProcess>("fm-gateway", with(flags));
    REQUIRE(gateway->WaitForServing(15000));
    auto channel = MakeChannel(gateway->address());
    REQUIRE(channel.ok());
    stub = fm::v1::GatewayService::NewStub(*channel);
  }

  // One Generate with `id` as x-request-id ("" for none); returns the
  // status, and the id the gateway sent back in its headers.
  grpc::Status Generate(const fm::v1::GenerateRequest& request,
                        const std::string& id, std::string* returned_id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(absl::Seconds(60)));
    if (!id.empty()) ctx.AddMetadata("x-request-id", id);
    auto reader = stub->Generate(&ctx, request);
    fm::v1::GenerateResponse m;
    while (reader->Read(&m)) {
    }
    grpc::Status status = reader->Finish();
    const auto& headers = ctx.GetServerInitialMetadata();
    const auto it = headers.find("x-request-id");
    if (it != headers.end()) {
      returned_id->assign(it->second.data(), it->second.size());
    }
    return status;
  }

  std::unique_ptr<ServiceProcess> tokenizer, model, sampler, gateway;
  std::unique_ptr<fm::v1::GatewayService::Stub> stub;
};

constexpr char kPrompt[] = "Lily found a purple kite";

TEST_CASE("a request id travels through every service, its logs and errors",
          "[integration]") {
  FM_REQUIRE_FILE_OR_SKIP(ModelFile("tok512.model"), "tok512.model");
  FM_REQUIRE_FILE_OR_SKIP(ModelFile("stories260K.bin"), "stories260K.bin");
  Stack stack({});

  SECTION("the client's id") {
    std::string returned;
    const grpc::Status ok =
        stack.Generate(Greedy(kPrompt, 8), "client-id-0001", &returned);
    REQUIRE(ok.ok());
    CHECK(returned == "client-id-0001");
    // One access line per RPC, with the code and the tokens generated.
    REQUIRE(Eventually(
        [&] { return stack.gateway->log(); },
        [](const std::string& log) {
          return !AccessLines(log, "client-id-0001", "/Generate").empty();
        }));
    const auto generate =
        AccessLines(stack.gateway->log(), "client-id-0001", "/Generate");
    REQUIRE(generate.size() == 1);
    CHECK(generate[0]["code"] == "OK");
    CHECK(generate[0]["tokens"] == "8");
    CHECK(generate[0]["rpc"] == "/fm.v1.GatewayService/Generate");
    CHECK(generate[0]["component"] == "fm-gateway");
    CHECK(std::stod(generate[0]["duration_ms"].get<std::string>()) > 0);
    // The model and sampler sessions opened on its behalf carry the id.
    CHECK(Eventually(
        [&] { return stack.model->log(); },
        [](const std::string& log) {
          return AccessLines(log, "client-id-0001", "/Session").size() == 1;
        }));
    CHECK(Eventually(
        [&] { return stack.sampler->log(); },
        [](const std::string& log) {
          return AccessLines(log, "client-id-0001", "/Session").size() == 1;
        }));
    // No prompt text anywhere without --log_prompts.
    for (const ServiceProcess* s :
         {stack.gateway.get(), stack.model.get(), stack.sampler.get(),
          stack.tokenizer.get()}) {
      CHECK(s->log().find("purple kite") == std::string::npos);
    }
  }

  SECTION("an id the gateway makes, on a request the sampler refuses") {
    fm::v1::GenerateRequest request = Greedy(kPrompt, 8);
    request.clear_shorthand();
    request.mutable_sampling()->set_profile("no-such-profile");
    std::string returned;
    const grpc::Status refused = stack.Generate(request, "", &returned);
    REQUIRE(!refused.ok());
    REQUIRE(returned.size() == 16);
    // The error names the id once, however many services passed it on.
    const std::string tag = "[request_id=" + returned + "]";
    CAPTURE(refused.error_message());
    const size_t at = refused.error_message().find(tag);
    CHECK(at != std::string::npos);
    CHECK(refused.error_message().find(tag, at + 1) == std::string::npos);
    CHECK(Eventually(
        [&] { return stack.gateway->log(); },
        [&](const std::string& log) {
          const auto lines = AccessLines(log, returned, "/Generate");
          return lines.size() == 1 &&
                 lines[0]["code"] ==
                     absl::StatusCodeToString(
                         static_cast<absl::StatusCode>(refused.error_code()));
        }));
    // The sampler that refused it logged the failed call under that id.
    CHECK(Eventually([&] { return stack.sampler->log(); },
                     [&](const std::string& log) {
                       for (const Json& j : JsonLines(log)) {
                         if (j.value("request_id", "") == returned &&
                             j.value("code", "OK") != "OK") {
                           return true;
                         }
                       }
                       return false;
                     }));
  }

  SECTION("an invalid client id is replaced") {
    std::string returned;
    REQUIRE(stack.Generate(Greedy(kPrompt, 2), std::string(200, 'x'), &returned)
                .ok());
    CHECK(returned.size() == 16);
  }
}

TEST_CASE(
    "the gateway logs each prompt under its request id with --log_prompts",
    "[integration]") {
  FM_REQUIRE_FILE_OR_SKIP(ModelFile("tok512.model"), "tok512.model");
  FM_REQUIRE_FILE_OR_SKIP(ModelFile("stories260K.bin"), "stories260K.bin");
  Stack stack({"--log_prompts"});
  std::string returned;
  REQUIRE(stack.Generate(Greedy(kPrompt, 2), "prompt-id-7", &returned).ok());
  bool logged = false;
  for (const Json& j : JsonLines(stack.gateway->log())) {
    if (j.value("message", "") == "prompt" &&
        j.value("request_id", "") == "prompt-id-7") {
      CHECK(j["text"] == kPrompt);
      CHECK(j["rpc"] == "Generate");
      logged = true;
    }
  }
  CHECK(logged);
}

}  // namespace
}  // namespace fm::testing
