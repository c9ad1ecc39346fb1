// ConversationFromJson: role and string content into their fields, every
// other field (a content list, tool_calls, ...) into fields_json.
#include "services/fmctl/conversation_json.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace fm::fmctl {

absl::StatusOr<fm::v1::RenderChatRequest> ConversationFromJson(
    absl::string_view text) {
  nlohmann::json root = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError("the conversation is not valid JSON");
  }
  fm::v1::RenderChatRequest request;
  nlohmann::json messages = root;
  if (root.is_object()) {
    messages = root.value("messages", nlohmann::json());
    if (root.contains("tools")) request.set_tools_json(root["tools"].dump());
    if (root.contains("variables")) {
      if (!root["variables"].is_object()) {
        return absl::InvalidArgumentError("\"variables\" is not an object");
      }
      request.set_variables_json(root["variables"].dump());
    }
  }
  if (!messages.is_array()) {
    return absl::InvalidArgumentError(
        "the conversation is neither an array of messages nor an object with "
        "\"messages\"");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& m = messages[i];
    const std::string at = absl::StrCat("messages[", i, "]");
    if (!m.is_object()) return absl::InvalidArgumentError(at + " is not an object");
    if (!m.contains("role") || !m["role"].is_string()) {
      return absl::InvalidArgumentError(at + ".role is missing or not a string");
    }
    fm::v1::ChatMessage* out = request.add_messages();
    out->set_role(m["role"].get<std::string>());
    nlohmann::json fields = nlohmann::json::object();
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.key() == "role") continue;
      if (it.key() == "content" && it.value().is_string()) {
        out->set_content(it.value().get<std::string>());
        continue;
      }
      fields[it.key()] = it.value();
    }
    if (!fields.empty()) out->set_fields_json(fields.dump());
  }
  return request;
}

}  // namespace fm::fmctl
