// ChatTemplate: request -> template variables -> text.
#include "services/tokenizer/chat_template.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/jinja/json_value.h"

namespace fm::tokenizer {
namespace {

// A control-token text from a message stands in the template's input as
// U+E000 <index> U+E001 (private-use characters and digits, which no
// string method or filter changes), and is put back after rendering.
constexpr char kMarkOpen[] = "\xEE\x80\x80";   // U+E000
constexpr char kMarkClose[] = "\xEE\x80\x81";  // U+E001
constexpr size_t kMarkBytes = 3;

}  // namespace

absl::StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::Create(
    absl::string_view source, const Tokenizer& tokenizer) {
  auto parsed = jinja::Template::Parse(source);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chat ", parsed.status().message()));
  }
  std::unique_ptr<ChatTemplate> chat(new ChatTemplate());
  chat->template_ = *std::move(parsed);
  const text::SpecialIds special = tokenizer.special_ids();
  for (const auto& [name, id] : {std::make_pair("bos_token", special.bos),
                                 std::make_pair("eos_token", special.eos),
                                 std::make_pair("unk_token", special.unk),
                                 std::make_pair("pad_token", special.pad)}) {
    chat->special_tokens_.emplace_back(
        name, id >= 0 ? jinja::Value::String(tokenizer.entry(id).piece)
                      : jinja::Value::String(""));
  }
  chat->controls_ = &tokenizer.special_tokens();
  return chat;
}

absl::StatusOr<RenderedChat> ChatTemplate::Render(const ChatRequest& request) const {
  jinja::Array messages;
  std::vector<std::string> literals;  // control-token texts from contents
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const ChatMessage& m = request.messages[i];
    if (absl::StrContains(m.content, kMarkOpen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "messages[", i, "].content holds U+E000, which RenderChat reserves"));
    }
    std::string content;
    for (const auto& segment : controls_->Split(m.content)) {
      if (segment.id < 0) {
        content.append(segment.text.data(), segment.text.size());
        continue;
      }
      absl::StrAppend(&content, kMarkOpen, literals.size(), kMarkClose);
      literals.emplace_back(segment.text);
    }
    jinja::Object message = {{"role", jinja::Value::String(m.role)},
                             {"content", jinja::Value::String(std::move(content))}};
    if (!m.fields_json.empty()) {
      auto fields = jinja::ParseJsonValue(m.fields_json,
                                          absl::StrCat("messages[", i, "].fields_json"));
      if (!fields.ok()) return fields.status();
      if (!fields->is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("messages[", i, "].fields_json: is not a JSON object"));
      }
      for (const auto& [key, value] : fields->as_object()) {
        bool replaced = false;
        for (auto& [k, v] : message) {
          if (k == key) {
            v = value;
            replaced = true;
          }
        }
        if (!replaced) message.emplace_back(key, value);
      }
    }
    messages.push_back(jinja::Value::MakeObject(std::move(message)));
  }
  jinja::Object globals = special_tokens_;
  globals.emplace_back("messages", jinja::Value::MakeArray(std::move(messages)));
  globals.emplace_back("add_generation_prompt",
                       jinja::Value::Bool(request.add_generation_prompt));
  if (!request.tools_json.empty()) {
    auto tools = jinja::ParseJsonValue(request.tools_json, "tools_json");
    if (!tools.ok()) return tools.status();
    if (!tools->is_array()) {
      return absl::InvalidArgumentError("tools_json: is not a JSON array");
    }
    globals.emplace_back("tools", *std::move(tools));
  }
  if (!request.variables_json.empty()) {
    auto variables = jinja::ParseJsonValue(request.variables_json, "variables_json");
    if (!variables.ok()) return variables.status();
    if (!variables->is_object()) {
      return absl::InvalidArgumentError("variables_json: is not a JSON object");
    }
    for (const auto& [key, value] : variables->as_object()) {
      globals.emplace_back(key, value);
    }
  }
  // A later variable of the same name wins (extra variables override).
  auto rendered = template_.Render(globals);
  if (!rendered.ok()) return rendered.status();
  RenderedChat out;
  out.text.reserve(rendered->size());
  const std::string& r = *rendered;
  size_t pos = 0;
  while (true) {
    const size_t open = r.find(kMarkOpen, pos);
    if (open == std::string::npos) break;
    const size_t close = r.find(kMarkClose, open);
    size_t index = 0;
    const absl::string_view digits =
        close == std::string::npos
            ? absl::string_view()
            : absl::string_view(r).substr(open + kMarkBytes, close - open - kMarkBytes);
    if (digits.empty() || !absl::SimpleAtoi(digits, &index) || index >= literals.size()) {
      return absl::InvalidArgumentError(
          "the chat template cut up a message's content where it held a special "
          "token's text");
    }
    out.text.append(r, pos, open - pos);
    out.literal_ranges.emplace_back(out.text.size(), out.text.size() + literals[index].size());
    out.text += literals[index];
    pos = close + kMarkBytes;
  }
  out.text.append(r, pos, std::string::npos);
  return out;
}

}  // namespace fm::tokenizer
