// PromptIds and EncodeText.
#include "services/gateway/prompt.h"

#include "common/status_macros.h"
#include "common/status_util.h"
#include "services/gateway/downstream_context.h"

namespace fm::gateway {

absl::StatusOr<std::vector<int32_t>> EncodeText(
    const Backends& backends, const grpc::CallbackServerContext& server_ctx,
    absl::Duration timeout, const std::string& text, bool add_bos,
    bool parse_special, bool continuation) {
  fm::v1::EncodeRequest request;
  request.set_continuation(continuation);
  request.set_text(text);
  request.set_add_bos(add_bos);
  request.set_parse_special(parse_special);
  fm::v1::EncodeResponse response;
  auto ctx = DownstreamContext(server_ctx, timeout);
  grpc::Status s = backends.tokenizer()->Encode(ctx.get(), request, &response);
  if (!s.ok()) return FromGrpcStatus(s, "tokenizer");
  return std::vector<int32_t>(response.ids().begin(), response.ids().end());
}

absl::StatusOr<std::vector<int32_t>> PromptIds(
    const Backends& backends, const PipelineFacts& facts,
    const grpc::CallbackServerContext& server_ctx, absl::Duration timeout,
    const fm::v1::TokenIds* ids, const std::string& text, bool add_bos,
    bool parse_special) {
  const int32_t bos = facts.vocab->special_ids().bos;
  std::vector<int32_t> prompt;
  if (ids != nullptr) {
    FM_RETURN_IF_ERROR(text::ValidateIds(
        ids->ids(), facts.vocab->vocab_size(), "prompt ids"));
    if (add_bos && bos >= 0) prompt.push_back(bos);
    prompt.insert(prompt.end(), ids->ids().begin(), ids->ids().end());
  } else if (!text.empty()) {
    FM_ASSIGN_OR_RETURN(prompt,
                        EncodeText(backends, server_ctx, timeout, text,
                                   add_bos, parse_special));
  } else if (add_bos && bos >= 0) {
    prompt.push_back(bos);  // an empty prompt conditions on BOS alone
  }
  if (prompt.empty()) {
    return absl::InvalidArgumentError(
        "the prompt is empty and add_bos is false: nothing to condition on");
  }
  return prompt;
}

}  // namespace fm::gateway
