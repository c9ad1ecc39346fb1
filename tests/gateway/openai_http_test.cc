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
  // `gateway_flags`: added to the gateway's (limits, bearer tokens).
  explicit HttpPipeline(std::vector<std::string> gateway_flags = {})
      : template_file(MakeTempDir() + "/chat.jinja"), p({}, [this] {
          std::ofstream(template_file) << kTemplate;
          return HermeticModels{ModelFile("tok512.model"),
                                ModelFile("stories260K.bin"),
                                {"--chat_template_file=" + template_file}};
        }()) {
    if (!p.available()) return;
    const std::string port_file = MakeTempDir() + "/http.port";
    gateway_flags.push_back("--http_listen=127.0.0.1:0");
    gateway_flags.push_back("--http_port_file=" + port_file);
    p.StartGateway(gateway_flags);
    std::ifstream in(port_file);
    int port = 0;
    in >> port;
    REQUIRE(port > 0);
    base = "http://127.0.0.1:" + std::to_string(port);
  }

  // curl: the body and the HTTP status. `headers`: more "Name: value"s.
  std::pair<int, std::string> Post(
      const std::string& path, const std::string& body,
      const std::vector<std::string>& headers = {}) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "curl",
                                     "-sS",
                                     "-o",
                                     "-",
                                     "-w",
                                     "\n%{http_code}",
                                     "-H",
                                     "Content-Type: application/json",
                                     "--data-binary",
                                     "@-"};
    for (const std::string& header : headers) {
      argv.push_back("-H");
      argv.push_back(header);
    }
    argv.push_back(base + path);
    CommandResult r = RunCommand(argv, body, 60000);
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

TEST_CASE("bearer tokens, the body limit and admission over HTTP", "[openai]") {
  const std::string dir = MakeTempDir();
  const std::string token = "http-client-token-0123456789";
  std::ofstream(dir + "/tokens") << token << "\n";
  HttpPipeline h({"--auth_tokens_file=" + dir + "/tokens",
                  "--http_max_body_bytes=1024", "--max_concurrent=1"});
  REQUIRE_PIPELINE(h.p);
  const std::string auth = "Authorization: Bearer " + token;
  const std::string small = R"({"prompt": "Once", "max_tokens": 4})";

  // No token, a wrong one: 401 in OpenAI's shape; the right one: 200.
  for (const std::vector<std::string>& headers :
       std::vector<std::vector<std::string>>{
           {}, {"Authorization: Bearer not-the-token-at-all-000"}}) {
    auto [status, body] = h.Post("/v1/completions", small, headers);
    INFO(body);
    CHECK(status == 401);
    CHECK(Json::parse(body)["error"]["code"] == "unauthenticated");
  }
  auto [status, body] = h.Post("/v1/completions", small, {auth});
  INFO(body);
  CHECK(status == 200);

  // A body over --http_max_body_bytes: 413, before any parsing.
  const std::string big = R"({"prompt": ")" + std::string(2000, 'a') + "\"}";
  std::tie(status, body) = h.Post("/v1/completions", big, {auth});
  CHECK(status == 413);
  CHECK(Json::parse(body)["error"]["message"].is_string());

  // The only generation slot taken by a long gRPC generation: 429 (once
  // the requests above have let go of it).
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext info_ctx;
    info_ctx.set_deadline(DeadlineAfter(absl::Seconds(5)));
    info_ctx.AddMetadata("authorization", "Bearer " + token);
    fm::v1::GatewayInfo info;
    REQUIRE(h.p.stub->Info(&info_ctx, {}, &info).ok());
    if (info.active_generations() == 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(60)));
  ctx.AddMetadata("authorization", "Bearer " + token);
  fm::v1::GenerateRequest hold;
  hold.set_text("Once");
  hold.set_max_tokens(480);
  hold.set_ignore_eos(true);
  hold.set_n(16);
  auto reader = h.p.stub->Generate(&ctx, hold);
  fm::v1::GenerateResponse first;
  REQUIRE(reader->Read(&first));  // admitted and running
  std::tie(status, body) = h.Post("/v1/completions", small, {auth});
  INFO(body);
  CHECK(status == 429);
  CHECK(Json::parse(body)["error"]["code"] == "resource_exhausted");
  ctx.TryCancel();
  while (reader->Read(&first)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
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

TEST_CASE(
    "the OpenAI Node client: logprobs in each endpoint's shape, seeds, "
    "json_schema, echo",
    "[openai]") {
  std::string why;
  const std::string sdk = InstalledNodePackages("openai-sdk", &why);
  if (sdk.empty()) {
    ReportSkip("the OpenAI client for Node: " + why);
    return;
  }
  HttpPipeline h;
  REQUIRE_PIPELINE(h.p);

  // Completions logprobs (legacy shape) equal gRPC's for the same request.
  fm::v1::GenerateRequest r = SeededRequest();
  r.set_max_tokens(8);
  r.set_logprobs(true);
  r.set_top_logprobs(2);
  const GenerateResult grpc_lp = h.p.Generate(r);
  REQUIRE(grpc_lp.status.ok());
  std::vector<float> grpc_logprobs;
  for (const auto& m : grpc_lp.messages) {
    for (const auto& t : m.tokens()) grpc_logprobs.push_back(t.logprob());
  }
  REQUIRE(grpc_logprobs.size() == 8);
  Json out = RunSdk(sdk, h.base,
                    {{"call", "completions"},
                     {"params",
                      {{"model", "stories260K"},
                       {"prompt", "Once upon a time"},
                       {"max_tokens", 8},
                       {"seed", 11},
                       {"temperature", 0.9},
                       {"logprobs", 2}}}});
  INFO(out.dump());
  REQUIRE(out["logprobs"].size() == 1);
  const Json& legacy = out["logprobs"][0][0];
  REQUIRE(legacy["tokens"].size() == 8);
  REQUIRE(legacy["token_logprobs"].size() == 8);
  REQUIRE(legacy["top_logprobs"].size() == 8);
  REQUIRE(legacy["text_offset"].size() == 8);
  std::string joined;
  for (size_t i = 0; i < 8; ++i) {
    CHECK(legacy["token_logprobs"][i].get<double>() ==
          Approx(grpc_logprobs[i]).margin(1e-5));
    CHECK(legacy["top_logprobs"][i].size() <= 2);
    CHECK(legacy["top_logprobs"][i].size() >= 1);
    CHECK(legacy["text_offset"][i] == joined.size());
    joined += legacy["tokens"][i].get<std::string>();
  }

  // Chat logprobs, streamed: one content entry per token, with bytes and
  // two alternatives, across the chunks.
  out = RunSdk(sdk, h.base,
               {{"call", "chat"},
                {"params",
                 {{"model", "stories260K"},
                  {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                  {"max_tokens", 8},
                  {"seed", 3},
                  {"temperature", 0.9},
                  {"logprobs", true},
                  {"top_logprobs", 2},
                  {"stream", true},
                  {"stream_options", {{"include_usage", true}}}}}});
  INFO(out.dump());
  int entries = 0;
  for (const Json& chunk_logprobs : out["logprobs"][0]) {
    for (const Json& e : chunk_logprobs["content"]) {
      ++entries;
      CHECK(e["token"].is_string());
      CHECK(e["logprob"].get<double>() <= 0);
      CHECK(e["bytes"].is_array());
      CHECK(e["top_logprobs"].size() == 2);
    }
  }
  CHECK(entries == out["usage"]["completion_tokens"].get<int>());
  CHECK(entries > 0);

  // The same seed gives the same text through the SDK; another seed
  // another one.
  auto sampled = [&](int seed) {
    Json o = RunSdk(sdk, h.base,
                    {{"call", "completions"},
                     {"params",
                      {{"model", "stories260K"},
                       {"prompt", "Once upon a time"},
                       {"max_tokens", 32},
                       {"seed", seed},
                       {"temperature", 1.0}}}});
    REQUIRE(o.contains("text"));
    return o["text"][0].get<std::string>();
  };
  const std::string seeded = sampled(5);
  CHECK(sampled(5) == seeded);
  CHECK(sampled(6) != seeded);

  // response_format json_schema: the text is a document of the schema.
  out = RunSdk(
      sdk, h.base,
      {{"call", "chat"},
       {"params",
        {{"model", "stories260K"},
         {"messages", {{{"role", "user"}, {"content", "Answer in JSON."}}}},
         // Room for the longest document: 11 bytes and 12 spaces in each
         // of its four gaps.
         {"max_tokens", 128},
         {"seed", 1},
         {"temperature", 1.0},
         {"response_format",
          {{"type", "json_schema"},
           {"json_schema",
            {{"name", "answer"},
             {"schema",
              {{"type", "object"},
               {"properties", {{"ok", {{"type", "boolean"}}}}},
               {"required", {"ok"}},
               {"additionalProperties", false}}}}}}}}}});
  INFO(out.dump());
  REQUIRE(out.contains("text"));
  CHECK(out["finish"][0] == "stop");
  const Json doc = Json::parse(out["text"][0].get<std::string>());
  CHECK(doc.is_object());
  CHECK(doc.size() == 1);
  CHECK(doc["ok"].is_boolean());

  // echo: the prompt comes back before the completion.
  out = RunSdk(sdk, h.base,
               {{"call", "completions"},
                {"params",
                 {{"model", "stories260K"},
                  {"prompt", "Once upon a time"},
                  {"max_tokens", 4},
                  {"temperature", 0},
                  {"echo", true}}}});
  INFO(out.dump());
  const std::string echoed = out["text"][0];
  CHECK(echoed.rfind("Once upon a time", 0) == 0);
  CHECK(echoed.size() > std::string("Once upon a time").size());
}

}  // namespace
}  // namespace fm::testing
