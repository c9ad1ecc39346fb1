// ChatTemplate: a model's chat template (GGUF tokenizer.chat_template or
// tokenizer_config.json chat_template) parsed at load and rendered per
// request with the variables Hugging Face's apply_chat_template passes:
// messages, add_generation_prompt, the special tokens' texts, tools, and
// any extra variables (enable_thinking, ...).
#ifndef FM_SERVICES_TOKENIZER_CHAT_TEMPLATE_H_
#define FM_SERVICES_TOKENIZER_CHAT_TEMPLATE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jinja/template.h"
#include "services/tokenizer/added_tokens.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

struct ChatMessage {
  std::string role;
  std::string content;
  // More fields the template may read (tool_calls, reasoning_content, or a
  // "content" list of parts), as a JSON object; "" for none.
  std::string fields_json;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt = true;
  std::string tools_json;      // a JSON array; "" for none
  std::string variables_json;  // a JSON object of extra variables; "" for none
};

// A rendered conversation. Control-token texts that messages' contents
// carried ("<|im_end|>" typed by a user) sit at `literal_ranges` of
// `text`: encode with parse_special and these ranges, and they stay text
// while the template's own special tokens become ids.
struct RenderedChat {
  std::string text;
  std::vector<std::pair<size_t, size_t>> literal_ranges;
};

class ChatTemplate {
 public:
  // INVALID_ARGUMENT "chat template line N: ..." for a template that does
  // not parse or uses what the interpreter does not implement.
  // `tokenizer` must outlive the template.
  static absl::StatusOr<std::unique_ptr<ChatTemplate>> Create(
      absl::string_view source, const Tokenizer& tokenizer);

  // INVALID_ARGUMENT naming the message or field for malformed JSON, or
  // with the template's own message when it refuses the conversation
  // (raise_exception); RESOURCE_EXHAUSTED past the render limits.
  absl::StatusOr<RenderedChat> Render(const ChatRequest& request) const;

 private:
  ChatTemplate() = default;

  jinja::Template template_;
  jinja::Object special_tokens_;  // bos_token, eos_token, ...: their texts
  // The tokenizer's control tokens, to find them in messages' contents.
  const AddedTokenMatcher* controls_ = nullptr;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_CHAT_TEMPLATE_H_
