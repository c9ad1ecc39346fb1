// OpenAI's response shapes. The same Choice state feeds both the stream's
// chunks and the whole object, so the two cannot disagree.
#include "services/gateway/openai/openai_response.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace fm::gateway::openai {
namespace {

using Json = nlohmann::json;

// Text that may hold a cut UTF-8 character is written with U+FFFD.
std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const char* ErrorType(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
      return "invalid_request_error";
    case absl::StatusCode::kUnauthenticated:
      return "authentication_error";
    case absl::StatusCode::kPermissionDenied:
      return "permission_error";
    case absl::StatusCode::kResourceExhausted:
      return "rate_limit_error";
    default:
      return "server_error";
  }
}

// The gateway's messages start with the field they name ("max_tokens =
// 9000 ...", "shorthand.temperature = 3 ..."): its OpenAI name.
std::string GuessParam(absl::string_view message) {
  static const char* const kFields[] = {"max_tokens",
                                        "min_tokens",
                                        "top_logprobs",
                                        "best_of",
                                        "beam_width",
                                        "length_penalty",
                                        "stop_token_ids",
                                        "stop",
                                        "seed",
                                        "n ",
                                        "n=",
                                        "temperature",
                                        "top_p",
                                        "top_k",
                                        "min_p",
                                        "presence_penalty",
                                        "frequency_penalty",
                                        "repetition_penalty",
                                        "logit_bias",
                                        "prompt",
                                        "messages",
                                        "sampler_route",
                                        "constraint",
                                        "select"};
  for (const char* field : kFields) {
    if (absl::StartsWith(message, field)) {
      std::string name(field);
      if (name.back() == ' ' || name.back() == '=') name.pop_back();
      return name;
    }
  }
  return "";
}

std::string FinishReasonName(fm::v1::FinishReason reason) {
  switch (reason) {
    case fm::v1::FINISH_REASON_STOP:
    case fm::v1::FINISH_REASON_EOS:
      return "stop";
    case fm::v1::FINISH_REASON_LENGTH:
      return "length";
    default:
      return "";
  }
}

Json FinishJson(fm::v1::FinishReason reason) {
  const std::string name = FinishReasonName(reason);
  return name.empty() ? Json(nullptr) : Json(name);
}

Json BytesJson(const std::string& text) {
  Json bytes = Json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string ErrorJson(const absl::Status& status) {
  // The gateway's shorthand fields are top-level fields here.
  const std::string message =
      absl::StrReplaceAll(status.message(), {{"shorthand.", ""}});
  std::string param = ParamOf(status);
  if (param.empty()) param = GuessParam(message);
  std::string code = absl::StatusCodeToString(status.code());
  for (char& c : code) c = c == ' ' ? '_' : static_cast<char>(std::tolower(c));
  Json error = {{"message", message},
                {"type", ErrorType(status.code())},
                {"param", param.empty() ? Json(nullptr) : Json(param)},
                {"code", code}};
  return Dump(Json{{"error", std::move(error)}});
}

ResponseRenderer::ResponseRenderer(const OpenAiPlan& plan,
                                   ResponseIdentity identity,
                                   TokenTextFn token_text)
    : plan_(plan),
      identity_(std::move(identity)),
      token_text_(std::move(token_text)) {
  const size_t prompts =
      plan.endpoint == Endpoint::kChat ? 1 : plan.prompts.size();
  choices_.resize(prompts * plan.n);
  prompt_tokens_.assign(prompts, 0);
  if (plan.echo) {
    for (size_t i = 0; i < choices_.size(); ++i) {
      choices_[i].text = plan.prompt_texts[i / plan.n];
      choices_[i].text_offset = choices_[i].text.size();
    }
  }
}

namespace {

// A choice as the chunk and the whole response share it: its index, its
// tokens' logprobs in the endpoint's shape and its finish reason (the text
// goes where each form wants it). `offset`: bytes of token text before
// tokens[0].
Json ChoiceCore(const OpenAiPlan& plan, const TokenTextFn& token_text,
                int index, const std::vector<TokenEntry>& tokens, size_t offset,
                fm::v1::FinishReason finish) {
  const bool chat = plan.endpoint == Endpoint::kChat;
  Json choice = {{"index", index}};
  Json logprobs = nullptr;
  if (plan.logprobs && !tokens.empty()) {
    if (chat) {
      Json content = Json::array();
      for (const TokenEntry& t : tokens) {
        const std::string piece = token_text(t.id);
        Json top = Json::array();
        for (const auto& [id, lp] : t.top) {
          const std::string alt = token_text(id);
          top.push_back(
              {{"token", alt}, {"logprob", lp}, {"bytes", BytesJson(alt)}});
        }
        content.push_back({{"token", piece},
                           {"logprob", t.logprob},
                           {"bytes", BytesJson(piece)},
                           {"top_logprobs", std::move(top)}});
      }
      logprobs = {{"content", std::move(content)}, {"refusal", nullptr}};
    } else {
      Json pieces = Json::array(), lps = Json::array(), tops = Json::array(),
           offsets = Json::array();
      for (const TokenEntry& t : tokens) {
        const std::string piece = token_text(t.id);
        pieces.push_back(piece);
        lps.push_back(t.logprob);
        offsets.push_back(offset);
        offset += piece.size();
        Json top = Json::object();
        for (const auto& [id, lp] : t.top) top[token_text(id)] = lp;
        tops.push_back(std::move(top));
      }
      logprobs = {{"tokens", std::move(pieces)},
                  {"token_logprobs", std::move(lps)},
                  {"top_logprobs", std::move(tops)},
                  {"text_offset", std::move(offsets)}};
    }
  }
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = FinishJson(finish);
  return choice;
}

}  // namespace

std::string ResponseRenderer::ChunkJson(int index, const std::string& text,
                                        const std::vector<TokenEntry>& tokens,
                                        size_t offset,
                                        fm::v1::FinishReason finish,
                                        bool role) const {
  const bool chat = plan_.endpoint == Endpoint::kChat;
  Json choice = ChoiceCore(plan_, token_text_, index, tokens, offset, finish);
  if (chat) {
    Json delta = Json::object();
    if (role) delta["role"] = "assistant";
    if (role || !text.empty()) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  Json chunk = {{"id", identity_.id},
                {"object", chat ? "chat.completion.chunk" : "text_completion"},
                {"created", identity_.created},
                {"model", identity_.model},
                {"system_fingerprint", identity_.system_fingerprint},
                {"choices", Json::array({std::move(choice)})}};
  if (plan_.include_usage) chunk["usage"] = nullptr;
  return Dump(chunk);
}

std::vector<std::string> ResponseRenderer::Start() {
  std::vector<std::string> chunks;
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (plan_.endpoint == Endpoint::kChat) {
      chunks.push_back(ChunkJson(static_cast<int>(i), "", {}, 0,
                                 fm::v1::FINISH_REASON_UNSPECIFIED, true));
    } else if (plan_.echo && !choices_[i].text.empty()) {
      chunks.push_back(ChunkJson(static_cast<int>(i), choices_[i].text, {}, 0,
                                 fm::v1::FINISH_REASON_UNSPECIFIED, false));
    }
  }
  return chunks;
}

std::vector<std::string> ResponseRenderer::Add(
    int prompt, const fm::v1::GenerateResponse& m) {
  std::vector<std::string> chunks;
  if (m.sequence_index() < 0 || m.sequence_index() >= plan_.n || prompt < 0 ||
      prompt >= static_cast<int>(prompt_tokens_.size())) {
    return chunks;
  }
  const bool content = !m.text().empty() || m.token_ids_size() > 0 ||
                       m.finish_reason() != fm::v1::FINISH_REASON_UNSPECIFIED;
  if (!content) return chunks;  // best_of's candidate list
  const int index = prompt * plan_.n + m.sequence_index();
  Choice& c = choices_[index];
  std::vector<TokenEntry> tokens;
  if (plan_.logprobs) {
    for (const fm::v1::GeneratedToken& t : m.tokens()) {
      TokenEntry e{t.id(), t.logprob(), {}};
      for (const fm::v1::TokenLogprob& alt : t.top_logprobs()) {
        e.top.emplace_back(alt.id(), alt.logprob());
      }
      tokens.push_back(std::move(e));
    }
  }
  size_t offset = c.text_offset;
  for (const TokenEntry& t : c.tokens) offset += token_text_(t.id).size();
  c.text += m.text();
  c.tokens.insert(c.tokens.end(), tokens.begin(), tokens.end());
  c.seed = m.seed();
  if (m.finish_reason() != fm::v1::FINISH_REASON_UNSPECIFIED) {
    c.finish = m.finish_reason();
    c.completion_tokens = m.usage().completion_tokens();
    prompt_tokens_[prompt] = m.usage().prompt_tokens();
  }
  if (plan_.stream) {
    chunks.push_back(
        ChunkJson(index, m.text(), tokens, offset, m.finish_reason(), false));
  }
  return chunks;
}

namespace {

Json UsageJson(const std::vector<int32_t>& prompt_tokens, int32_t completion) {
  int32_t prompt = 0;
  for (int32_t p : prompt_tokens) prompt += p;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion}};
}

}  // namespace

std::vector<std::string> ResponseRenderer::Finish() const {
  if (!plan_.include_usage) return {};
  int32_t completion = 0;
  for (const Choice& c : choices_) completion += c.completion_tokens;
  const bool chat = plan_.endpoint == Endpoint::kChat;
  return {Dump({{"id", identity_.id},
                {"object", chat ? "chat.completion.chunk" : "text_completion"},
                {"created", identity_.created},
                {"model", identity_.model},
                {"system_fingerprint", identity_.system_fingerprint},
                {"choices", Json::array()},
                {"usage", UsageJson(prompt_tokens_, completion)}})};
}

std::string ResponseRenderer::Whole() const {
  const bool chat = plan_.endpoint == Endpoint::kChat;
  Json choices = Json::array();
  int32_t completion = 0;
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    completion += c.completion_tokens;
    Json one = ChoiceCore(plan_, token_text_, static_cast<int>(i), c.tokens,
                          c.text_offset, c.finish);
    if (chat) {
      one["message"] = {
          {"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
    } else {
      one["text"] = c.text;
    }
    // fmserve's extra: the seed in force, to reproduce the choice.
    one["seed"] = c.seed;
    choices.push_back(std::move(one));
  }
  return Dump({{"id", identity_.id},
               {"object", chat ? "chat.completion" : "text_completion"},
               {"created", identity_.created},
               {"model", identity_.model},
               {"system_fingerprint", identity_.system_fingerprint},
               {"choices", std::move(choices)},
               {"usage", UsageJson(prompt_tokens_, completion)}});
}

}  // namespace fm::gateway::openai
