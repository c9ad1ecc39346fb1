// The OpenAI-compatible HTTP API against the real four services on
// loopback: curl, and the official OpenAI client for Node (tests/openai,
// pinned by its lockfile), compared with the gateway's gRPC Generate/Chat.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/gateway/pipeline.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

using Json = nlohmann::json;

// A plain-text chat template: tok512 has no control tokens.
constexpr char kTemplate[] =
    "{% for m in messages %}{{ m.role + ': ' + m.content + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

struct HttpPipeline {
  HttpPipeline()
      : template_file(MakeTempDir() + "/chat.jinja"), p({}, [this] {
          std::ofstream(template_file) << kTemplate;
          return HermeticModels{ModelFile("tok512.model"),
                                ModelFile("stories260K.bin"),
                                {"--chat_template_file=" + template_file}};
        }()) {
    if (!p.available()) return;
    const std::string port_file = MakeTempDir() + "/http.port";
    p.StartGateway(
        {"--http_listen=127.0.0.1:0", "--http_port_file=" + port_file});
    std::ifstream in(port_file);
    int port = 0;
    in >> port;
    REQUIRE(port > 0);
    base = "http://127.0.0.1:" + std::to_string(port);
  }

  // curl: the body and the HTTP status.
  std::pair<int, std::string> Post(const std::string& path,
                                   const std::string& body) {
    CommandResult r = RunCommand(
        {"/usr/bin/env", "curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H",
         "Content-Type: application/json", "--data-binary", "@-", base + path},
        body, 60000);
    REQUIRE(r.exit_code == 0);
    const size_t nl = r.out.find_last_of('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }

  std::string template_file;
  Pipeline p;
  std::string base;
};

Json RunSdk(const std::string& dir, const std::string& base,
            const Json& request) {
  CommandResult r = RunCommand({"/usr/bin/env", "node", dir + "/sdk_client.mjs",
                                base + "/v1", request.dump()},
                               "", 120000);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return Json::parse(r.out);
}

fm::v1::GenerateRequest SeededRequest() {
  fm::v1::GenerateRequest r;
  r.set_text("Once upon a time");
  r.set_max_tokens(24);
  r.set_seed(11);
  r.mutable_shorthand()->set_temperature(0.9f);
  r.mutable_shorthand()->set_top_p(1);
  r.mutable_shorthand()->set_top_k(0);
  r.mutable_shorthand()->set_min_p(0);
  return r;
}

TEST_CASE("curl: completions equal Generate, errors name the field",
          "[openai]") {
  HttpPipeline h;
  REQUIRE_PIPELINE(h.p);
  const std::string grpc_text = h.p.Generate(SeededRequest()).Text();
  REQUIRE(!grpc_text.empty());

  auto [status, body] =
      h.Post("/v1/completions",
             R"({"model": "stories260K", "prompt": "Once upon a time",
          "max_tokens": 24, "seed": 11, "temperature": 0.9})");
  INFO(body);
  REQUIRE(status == 200);
  Json out = Json::parse(body);
  CHECK(out["object"] == "text_completion");
  CHECK(out["choices"][0]["text"] == grpc_text);
  CHECK(out["choices"][0]["finish_reason"] == "length");
  CHECK(out["usage"]["completion_tokens"] == 24);

  // Streamed: the deltas concatenate to the same text; usage comes last.
  std::tie(status, body) =
      h.Post("/v1/completions",
             R"({"prompt": "Once upon a time", "max_tokens": 24, "seed": 11,
          "temperature": 0.9, "stream": true,
          "stream_options": {"include_usage": true}})");
  REQUIRE(status == 200);
  std::string streamed;
  int usage_chunks = 0;
  bool done = false;
  size_t at = 0;
  for (int events = 0; events < 1000; ++events) {
    const size_t start = body.find("data: ", at);
    if (start == std::string::npos) break;
    const size_t end = body.find("\n\n", start);
    REQUIRE(end != std::string::npos);
    const std::string data = body.substr(start + 6, end - start - 6);
    at = end;
    if (data == "[DONE]") {
      done = true;
      break;
    }
    Json chunk = Json::parse(data);
    if (chunk["choices"].empty()) {
      ++usage_chunks;
      CHECK(chunk["usage"]["completion_tokens"] == 24);
    } else {
      streamed += chunk["choices"][0]["text"].get<std::string>();
    }
  }
  CHECK(done);
  CHECK(usage_chunks == 1);
  CHECK(streamed == grpc_text);

  // Bad fields: 400 naming the field; an unknown model: 404.
  struct Bad {
    std::string body, param;
    int status;
  };
  for (const Bad& bad : std::vector<Bad>{
           {R"({"prompt": "x", "temperature": 3})", "temperature", 400},
           {R"({"prompt": "x", "temperature": "hot"})", "temperature", 400},
           {R"({"prompt": "x", "max_tokenz": 3})", "max_tokenz", 400},
           {R"({"prompt": "x", "max_tokens": 100000})", "max_tokens", 400},
           {R"({"prompt": "x", "logit_bias": {"abc": 1}})", "logit_bias", 400},
           {R"({"model": "gpt-4", "prompt": "x"})", "model", 404},
           {R"({"prompt": 7})", "prompt", 400},
           {R"(not json)", "", 400},
       }) {
    std::tie(status, body) = h.Post("/v1/completions", bad.body);
    INFO(bad.body << " -> " << body);
    CHECK(status == bad.status);
    Json error = Json::parse(body)["error"];
    CHECK(error["message"].is_string());
    if (!bad.param.empty()) CHECK(error["param"] == bad.param);
  }
  std::tie(status, body) = h.Post("/v1/nothing", "{}");
  CHECK(status == 404);
  CHECK(Json::parse(body)["error"]["message"].is_string());
}

TEST_CASE("a client that leaves frees its model sessions within 1 s",
          "[openai]") {
  HttpPipeline h;
  REQUIRE_PIPELINE(h.p);
  // 8 prompts x n = 16 x 480 tokens: many seconds of work, of which the
  // client waits 0.5 s. Streamed (a write fails) and whole (nothing is
  // written until the end: the connection probe notices).
  std::string prompts = "[";
  for (int i = 0; i < 8; ++i)
    prompts += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  prompts += "]";
  for (const char* stream : {"true", "false"}) {
    INFO("stream " << stream);
    // The last round's generations have let go of their gateway slots.
    for (int i = 0; i < 100; ++i) {
      fm::v1::GatewayInfo info;
      grpc::ClientContext ctx;
      ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
      REQUIRE(h.p.stub->Info(&ctx, {}, &info).ok());
      if (info.active_generations() == 0) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    const int64_t opened_before = h.p.ModelInfo().sessions_opened();
    const std::string body =
        std::string(R"({"prompt": )") + prompts +
        R"(, "max_tokens": 480, "n": 16, "ignore_eos": true,
            "temperature": 1, "stream": )" +
        stream + "}";
    CommandResult r =
        RunCommand({"/usr/bin/env", "curl", "-sS", "-o", "/dev/null",
                    "--max-time", "0.5", "-H", "Content-Type: application/json",
                    "--data-binary", "@-", h.base + "/v1/completions"},
                   body, 30000);
    CHECK(r.exit_code == 28);  // curl: the time ran out
    const absl::Time left = absl::Now();
    CHECK(h.p.ModelInfo().sessions_opened() > opened_before);
    int active = -1;
    for (int i = 0; i < 40 && absl::Now() - left < absl::Seconds(1); ++i) {
      active = h.p.ModelInfo().active_sessions();
      if (active == 0) break;
      absl::SleepFor(absl::Milliseconds(25));
    }
    CHECK(active == 0);
    CHECK(absl::Now() - left < absl::Seconds(1));
  }
}

TEST_CASE(
    "the OpenAI Node client: streaming chat equals Chat, completions "
    "equal Generate, n, stop, errors",
    "[openai]") {
  std::string why;
  const std::string sdk = InstalledNodePackages("openai-sdk", &why);
  if (sdk.empty()) {
    ReportSkip("the OpenAI client for Node: " + why);
    return;
  }
  HttpPipeline h;
  REQUIRE_PIPELINE(h.p);

  // Chat, streamed through the SDK, against gRPC Chat with the same seed.
  fm::v1::ChatRequest chat;
  fm::v1::ChatMessage* m = chat.add_messages();
  m->set_role("user");
  m->set_content("Tell me a story.");
  *chat.mutable_generate() = SeededRequest();
  chat.mutable_generate()->clear_text();
  GenerateResult grpc_chat = RunChat(*h.p.stub, chat);
  REQUIRE(grpc_chat.status.ok());
  Json out = RunSdk(
      sdk, h.base,
      {{"call", "chat"},
       {"params",
        {{"model", "stories260K"},
         {"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}},
         {"max_tokens", 24},
         {"seed", 11},
         {"temperature", 0.9},
         {"stream", true},
         {"stream_options", {{"include_usage", true}}}}}});
  INFO(out.dump());
  REQUIRE(out.contains("text"));
  CHECK(out["text"][0] == grpc_chat.Text());
  CHECK(out["usage"]["completion_tokens"] == 24);

  // Completions, not streamed, n = 3: each choice equals its sequence.
  fm::v1::GenerateRequest r = SeededRequest();
  r.set_n(3);
  const GenerateResult grpc_n = h.p.Generate(r);
  out = RunSdk(sdk, h.base,
               {{"call", "completions"},
                {"params",
                 {{"model", "stories260K"},
                  {"prompt", "Once upon a time"},
                  {"max_tokens", 24},
                  {"seed", 11},
                  {"temperature", 0.9},
                  {"n", 3}}}});
  INFO(out.dump());
  REQUIRE(out["text"].size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(out["text"][i] == grpc_n.Text(i));

  // Stop strings end the text before them.
  r = SeededRequest();
  r.add_stop(" the");
  const std::string stopped = h.p.Generate(r).Text();
  out = RunSdk(sdk, h.base,
               {{"call", "completions"},
                {"params",
                 {{"model", "stories260K"},
                  {"prompt", "Once upon a time"},
                  {"max_tokens", 24},
                  {"seed", 11},
                  {"temperature", 0.9},
                  {"stop", " the"}}}});
  CHECK(out["text"][0] == stopped);

  // Errors reach the SDK as APIError with the status and the field.
  out = RunSdk(
      sdk, h.base,
      {{"call", "completions"},
       {"params", {{"model", "stories260K"}, {"prompt", "x"}, {"top_p", 0}}}});
  CHECK(out["error"]["status"] == 400);
  CHECK(out["error"]["param"] == "top_p");
}

}  // namespace
}  // namespace fm::testing
