// FuzzChatTemplate: bytes -> Template::Parse -> Render.
#include "tests/fuzz/chat_template_fuzz.h"

#include "absl/strings/string_view.h"
#include "common/jinja/json_value.h"
#include "common/jinja/template.h"

namespace fm::fuzz {

int FuzzChatTemplate(const uint8_t* data, size_t size) {
  auto parsed = jinja::Template::Parse(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) return 0;
  static const jinja::Value* globals = [] {
    auto v = jinja::ParseJsonValue(
        R"({"messages": [{"role": "system", "content": " Be brief. "},
                         {"role": "user", "content": "Hi \u00e9 <|eot|>"},
                         {"role": "assistant", "content": "<think>x</think>Hello",
                          "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                         {"role": "user", "content": [{"type": "text", "text": "parts"}]}],
            "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
            "tools": [{"name": "f", "parameters": {"type": "object"}}]})",
        "globals");
    return new jinja::Value(*v);
  }();
  jinja::RenderLimits limits;
  limits.max_steps = 200000;
  limits.max_output_bytes = 1 << 20;
  limits.max_call_depth = 16;
  limits.max_range = 10000;
  (void)parsed->Render(globals->as_object(), limits);
  return 0;
}

}  // namespace fm::fuzz
