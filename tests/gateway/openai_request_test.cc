// ParseOpenAiRequest: how each OpenAI body field becomes the gateway's
// request, and how a bad one is refused (the field named as `param`).
#include "services/gateway/openai/openai_request.h"

#include <catch2/catch.hpp>
#include <string>

namespace fm::gateway::openai {
namespace {

OpenAiPlan Parsed(Endpoint endpoint, const std::string& body) {
  absl::StatusOr<OpenAiPlan> plan = ParseOpenAiRequest(endpoint, body, "m");
  INFO(body << " -> " << plan.status());
  REQUIRE(plan.ok());
  return *std::move(plan);
}

// The status of a refused body, with the param it names.
void ExpectRefused(Endpoint endpoint, const std::string& body,
                   const std::string& param,
                   absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  absl::StatusOr<OpenAiPlan> plan = ParseOpenAiRequest(endpoint, body, "m");
  INFO(body << " -> " << plan.status());
  REQUIRE(!plan.ok());
  CHECK(plan.status().code() == code);
  CHECK(ParamOf(plan.status()) == param);
}

TEST_CASE("openai completions: OpenAI's defaults, the default profile",
          "[openai_request]") {
  const OpenAiPlan plan = Parsed(Endpoint::kCompletions, R"({"prompt": "Hi"})");
  CHECK(plan.model == "m");
  CHECK(!plan.stream);
  CHECK(plan.n == 1);
  REQUIRE(plan.prompts.size() == 1);
  const fm::v1::GenerateRequest& r = plan.prompts[0];
  CHECK(r.text() == "Hi");
  CHECK(r.max_tokens() == 16);
  // No sampling field: the sampler's default profile, no shorthand.
  CHECK(!r.has_shorthand());
  CHECK(!r.has_seed());
}

TEST_CASE("openai completions: one sampling field brings OpenAI's others",
          "[openai_request]") {
  const OpenAiPlan plan =
      Parsed(Endpoint::kCompletions,
             R"({"prompt": "Hi", "temperature": 0.5, "seed": 7,
                 "max_tokens": 40, "stop": "x", "n": 3,
                 "presence_penalty": 0.5, "logit_bias": {"5": -100}})");
  const fm::v1::GenerateRequest& r = plan.prompts[0];
  REQUIRE(r.has_shorthand());
  CHECK(r.shorthand().temperature() == Approx(0.5));
  CHECK(r.shorthand().top_p() == 1);
  CHECK(r.shorthand().top_k() == 0);
  CHECK(r.shorthand().min_p() == 0);
  CHECK(r.shorthand().presence_penalty() == Approx(0.5));
  CHECK(r.shorthand().logit_bias().at(5) == -100);
  CHECK(r.seed() == 7);
  CHECK(r.max_tokens() == 40);
  REQUIRE(r.stop_size() == 1);
  CHECK(r.stop(0) == "x");
  CHECK(r.n() == 3);
  CHECK(plan.n == 3);
}

TEST_CASE("openai completions: prompt lists, token ids without BOS",
          "[openai_request]") {
  OpenAiPlan plan =
      Parsed(Endpoint::kCompletions, R"({"prompt": ["a", "b", "c"]})");
  REQUIRE(plan.prompts.size() == 3);
  CHECK(plan.prompts[2].text() == "c");
  plan = Parsed(Endpoint::kCompletions, R"({"prompt": [1, 403, 407]})");
  REQUIRE(plan.prompts.size() == 1);
  CHECK(plan.prompts[0].add_bos() == false);
  CHECK(plan.prompts[0].ids().ids_size() == 3);
  plan = Parsed(Endpoint::kCompletions, R"({"prompt": [[1, 2], [3]]})");
  REQUIRE(plan.prompts.size() == 2);
  CHECK(plan.prompts[1].ids().ids(0) == 3);
  std::string many = "[";
  for (int i = 0; i <= kMaxPrompts; ++i) many += (i ? ",\"x\"" : "\"x\"");
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": )" + many + "]}",
                "prompt");
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": [[1, -2]]})",
                "prompt[0][1]");
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": []})", "prompt");
}

TEST_CASE("openai completions: logprobs and echo", "[openai_request]") {
  OpenAiPlan plan =
      Parsed(Endpoint::kCompletions, R"({"prompt": "Hi", "logprobs": 3})");
  CHECK(plan.logprobs);
  CHECK(plan.top_logprobs == 3);
  CHECK(plan.prompts[0].logprobs());
  CHECK(plan.prompts[0].top_logprobs() == 3);
  plan = Parsed(Endpoint::kCompletions, R"({"prompt": "Hi", "echo": true})");
  CHECK(plan.echo);
  REQUIRE(plan.prompt_texts.size() == 1);
  CHECK(plan.prompt_texts[0] == "Hi");
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": "Hi", "logprobs": 21})",
                "logprobs");
  ExpectRefused(Endpoint::kCompletions,
                R"({"prompt": "Hi", "logprobs": 1, "echo": true})", "echo");
}

TEST_CASE("openai chat: messages, max_completion_tokens, logprobs, formats",
          "[openai_request]") {
  OpenAiPlan plan =
      Parsed(Endpoint::kChat,
             R"({"messages": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text",
                        "text": "Hi "}, {"type": "text", "text": "there"}]}],
          "max_completion_tokens": 9, "logprobs": true, "top_logprobs": 2,
          "stream": true, "stream_options": {"include_usage": true},
          "response_format": {"type": "json_object"}})");
  CHECK(plan.prompts.empty());
  REQUIRE(plan.chat.messages_size() == 2);
  CHECK(plan.chat.messages(0).role() == "system");
  CHECK(plan.chat.messages(1).content() == "Hi there");
  CHECK(plan.chat.generate().max_tokens() == 9);
  CHECK(plan.chat.generate().logprobs());
  CHECK(plan.chat.generate().top_logprobs() == 2);
  CHECK(plan.stream);
  CHECK(plan.include_usage);
  CHECK(plan.chat.generate().has_constraint());
  plan = Parsed(Endpoint::kChat,
                R"({"messages": [{"role": "user", "content": "Hi"}],
                    "response_format": {"type": "json_schema", "json_schema":
                      {"name": "a", "schema": {"type": "boolean"}}}})");
  CHECK(plan.chat.generate().constraint().json_schema().find("boolean") !=
        std::string::npos);
  ExpectRefused(Endpoint::kChat, R"({"messages": []})", "messages");
  ExpectRefused(Endpoint::kChat, R"({"messages": [{"content": "Hi"}]})",
                "messages[0]");
  ExpectRefused(Endpoint::kChat,
                R"({"messages": [{"role": "user", "content": [{"type":
                    "image_url"}]}]})",
                "messages[0].content[0]");
  ExpectRefused(Endpoint::kChat,
                R"({"messages": [{"role": "user", "content": "Hi"}],
                    "top_logprobs": 2})",
                "top_logprobs");
  ExpectRefused(Endpoint::kChat,
                R"({"messages": [{"role": "user", "content": "Hi"}],
                    "tool_choice": "required"})",
                "tool_choice");
}

TEST_CASE("openai bodies: unknown fields, types, conflicts, model, depth",
          "[openai_request]") {
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": "x", "max_tokenz": 3})",
                "max_tokenz");
  ExpectRefused(Endpoint::kCompletions,
                R"({"prompt": "x", "temperature": "hot"})", "temperature");
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": "x", "n": 1.5})", "n");
  ExpectRefused(Endpoint::kCompletions,
                R"({"prompt": "x", "profile": "p", "temperature": 1})",
                "temperature");
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": "x", "model": "gpt-4"})",
                "model", absl::StatusCode::kNotFound);
  ExpectRefused(Endpoint::kCompletions, "[1, 2]", "");
  ExpectRefused(Endpoint::kCompletions, "{\"prompt\": \"x\"", "");
  const std::string deep = std::string(kMaxJsonNesting + 1, '[') +
                           std::string(kMaxJsonNesting + 1, ']');
  ExpectRefused(Endpoint::kCompletions, R"({"prompt": )" + deep + "}", "");
}

}  // namespace
}  // namespace fm::gateway::openai
