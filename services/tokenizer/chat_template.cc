// ChatTemplate: request -> template variables -> text.
#include "services/tokenizer/chat_template.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/jinja/json_value.h"

namespace fm::tokenizer {

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
  return chat;
}

absl::StatusOr<std::string> ChatTemplate::Render(const ChatRequest& request) const {
  jinja::Array messages;
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const ChatMessage& m = request.messages[i];
    jinja::Object message = {{"role", jinja::Value::String(m.role)},
                             {"content", jinja::Value::String(m.content)}};
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
  return template_.Render(globals);
}

}  // namespace fm::tokenizer
