// RunChat: render, then generate.
#include "services/gateway/chat.h"

#include "common/status_util.h"

namespace fm::gateway {

absl::Status RunChat(const Backends& backends, ResponseCache* cache,
                     const GenerationLimits& limits,
                     const grpc::CallbackServerContext& server_ctx,
                     const fm::v1::ChatRequest& request, ResponseSink* sink) {
  if (request.generate().prompt_case() != fm::v1::GenerateRequest::PROMPT_NOT_SET) {
    return absl::InvalidArgumentError(
        "generate.text / generate.ids must be unset in Chat: the rendered "
        "conversation is the prompt");
  }
  if (request.generate().has_add_bos()) {
    return absl::InvalidArgumentError(
        "generate.add_bos must be unset in Chat: the chat template writes BOS");
  }
  fm::v1::RenderChatRequest render;
  *render.mutable_messages() = request.messages();
  render.set_add_generation_prompt(true);
  render.set_tools_json(request.tools_json());
  render.set_variables_json(request.variables_json());
  render.set_return_ids(true);
  fm::v1::RenderChatResponse rendered;
  auto ctx = DownstreamContext(server_ctx, limits.default_timeout);
  grpc::Status s = backends.tokenizer()->RenderChat(ctx.get(), render, &rendered);
  if (!s.ok()) return FromGrpcStatus(s, "tokenizer");
  fm::v1::GenerateRequest generate = request.generate();
  generate.mutable_ids()->mutable_ids()->Assign(rendered.ids().begin(),
                                                 rendered.ids().end());
  generate.set_add_bos(false);
  return RunGeneration(backends, cache, limits, server_ctx, generate, sink);
}

}  // namespace fm::gateway
