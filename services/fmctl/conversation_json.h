// A conversation given to `fmctl render-chat` / `fmctl chat` as JSON: an
// array of messages ({"role", "content", more fields...}), or an object
// {"messages": [...], "tools": [...], "variables": {...}}.
#ifndef FM_SERVICES_FMCTL_CONVERSATION_JSON_H_
#define FM_SERVICES_FMCTL_CONVERSATION_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fm/v1/tokenizer.pb.h"

namespace fm::fmctl {

// The messages, tools and variables of `json` in a RenderChatRequest.
// INVALID_ARGUMENT naming the message and field when malformed.
absl::StatusOr<fm::v1::RenderChatRequest> ConversationFromJson(
    absl::string_view json);

}  // namespace fm::fmctl

#endif  // FM_SERVICES_FMCTL_CONVERSATION_JSON_H_
