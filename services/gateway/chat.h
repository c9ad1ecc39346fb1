// RunChat: Chat = the tokenizer's RenderChat (the model's chat template,
// with the ids of the rendered prompt) + RunGeneration on those ids, so a
// chat reply streams like any generation and ends at the end-of-turn id.
#ifndef FM_SERVICES_GATEWAY_CHAT_H_
#define FM_SERVICES_GATEWAY_CHAT_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "fm/v1/gateway.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/generation.h"
#include "services/gateway/response_cache.h"

namespace fm::gateway {

// INVALID_ARGUMENT when `request.generate` carries a prompt (the
// conversation is the prompt); the tokenizer's RenderChat status (naming
// the message or the template's complaint) when rendering fails;
// otherwise RunGeneration's.
absl::Status RunChat(const Backends& backends, ResponseCache* cache,
                     const GenerationLimits& limits,
                     const grpc::CallbackServerContext& server_ctx,
                     const fm::v1::ChatRequest& request, ResponseSink* sink);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_CHAT_H_
