// The OpenAI request bodies (/v1/completions, /v1/chat/completions) as the
// gateway's own requests: parsed, type-checked and mapped once, so that the
// HTTP handler only runs what this plan says. Sampling and length ranges
// are left to the gateway, which checks every request the same way
// whichever API it came through; the parser checks only what shapes the
// response (n and the logprobs counts, which size its arrays) and its own
// limits below.
#ifndef FM_SERVICES_GATEWAY_OPENAI_OPENAI_REQUEST_H_
#define FM_SERVICES_GATEWAY_OPENAI_OPENAI_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fm/v1/gateway.pb.h"

namespace fm::gateway::openai {

enum class Endpoint { kCompletions, kChat };

// Body limits of the parser itself (the HTTP layer also caps the bytes).
inline constexpr int kMaxJsonNesting = 64;
inline constexpr int kMaxPrompts = 16;
inline constexpr int kMaxChoicesPerPrompt = 64;

struct OpenAiPlan {
  Endpoint endpoint = Endpoint::kCompletions;
  // The `model` the client named (the served one when it named none).
  std::string model;
  bool stream = false;
  // stream_options.include_usage: a last chunk with the usage.
  bool include_usage = false;
  // Completions: prepend each prompt's text to its choices (`echo`).
  bool echo = false;
  // Logprobs in the endpoint's shape; top_logprobs alternatives each.
  bool logprobs = false;
  int top_logprobs = 0;
  // Sequences per prompt: choice index = prompt * n + sequence.
  int n = 1;
  // Completions: one request per prompt (`prompt` may be a list);
  // chat: empty.
  std::vector<fm::v1::GenerateRequest> prompts;
  // Completions with echo: each prompt's text (token prompts: empty).
  std::vector<std::string> prompt_texts;
  // Chat: the conversation and its Generate options.
  fm::v1::ChatRequest chat;
};

// INVALID_ARGUMENT naming the field (see ParamOf) for a malformed body, a
// field of the wrong type, an unknown field or one fmserve cannot honour;
// NOT_FOUND when `model` is not `served_model`.
absl::StatusOr<OpenAiPlan> ParseOpenAiRequest(Endpoint endpoint,
                                              absl::string_view body,
                                              absl::string_view served_model);

// The OpenAI field an error is about ("" when none), as carried by the
// status (a payload set by the parser).
std::string ParamOf(const absl::Status& status);

// A status about request field `param`: INVALID_ARGUMENT (or `code`).
absl::Status FieldError(
    absl::string_view param, absl::string_view message,
    absl::StatusCode code = absl::StatusCode::kInvalidArgument);

}  // namespace fm::gateway::openai

#endif  // FM_SERVICES_GATEWAY_OPENAI_OPENAI_REQUEST_H_
