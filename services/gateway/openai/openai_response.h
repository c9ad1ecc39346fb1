// The gateway's GenerateResponse stream in OpenAI's shapes: the whole
// response object, or the chunks of a server-sent-event stream; and the one
// place where a status becomes an HTTP status and OpenAI's error object.
#ifndef FM_SERVICES_GATEWAY_OPENAI_OPENAI_RESPONSE_H_
#define FM_SERVICES_GATEWAY_OPENAI_OPENAI_RESPONSE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fm/v1/gateway.pb.h"
#include "services/gateway/openai/openai_request.h"

namespace fm::gateway::openai {

// The HTTP status for a status code: 400 for a bad request, 401, 403, 404,
// 409, 429 RESOURCE_EXHAUSTED, 499 CANCELLED, 501, 503 UNAVAILABLE, 504
// DEADLINE_EXCEEDED, 500 otherwise.
int HttpStatusFor(absl::StatusCode code);

// {"error": {"message", "type", "param", "code"}} for `status` (param from
// ParamOf, else guessed from a gateway message naming its field).
std::string ErrorJson(const absl::Status& status);

// A token's text as the logprobs show it (its bytes may be part of a
// character).
using TokenTextFn = std::function<std::string(int32_t id)>;

struct ResponseIdentity {
  std::string id;  // "cmpl-..." / "chatcmpl-..."
  int64_t created = 0;
  std::string model;
  std::string system_fingerprint;
};

// One generated token with its logprob and alternatives.
struct TokenEntry {
  int32_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

class ResponseRenderer {
 public:
  ResponseRenderer(const OpenAiPlan& plan, ResponseIdentity identity,
                   TokenTextFn token_text);

  // Streaming: the chunks that open the stream (chat: each choice's role;
  // completions with echo: each choice's prompt text).
  std::vector<std::string> Start();
  // One gateway message of prompt `prompt`: folded into the whole response,
  // and returned as the stream's chunks (none for a message without
  // content, such as best_of's candidate list).
  std::vector<std::string> Add(int prompt, const fm::v1::GenerateResponse& m);
  // Streaming: the usage chunk when include_usage was asked, else none.
  std::vector<std::string> Finish() const;
  // The whole response object (not streaming).
  std::string Whole() const;

 private:
  struct Choice {
    std::string text;
    std::vector<TokenEntry> tokens;
    size_t text_offset = 0;  // bytes of token text before tokens[0]
    fm::v1::FinishReason finish = fm::v1::FINISH_REASON_UNSPECIFIED;
    int32_t completion_tokens = 0;
    uint64_t seed = 0;
  };

  std::string ChunkJson(int index, const std::string& text,
                        const std::vector<TokenEntry>& tokens, size_t offset,
                        fm::v1::FinishReason finish, bool role) const;

  const OpenAiPlan& plan_;
  ResponseIdentity identity_;
  TokenTextFn token_text_;
  std::vector<Choice> choices_;
  std::vector<int32_t> prompt_tokens_;
};

}  // namespace fm::gateway::openai

#endif  // FM_SERVICES_GATEWAY_OPENAI_OPENAI_RESPONSE_H_
