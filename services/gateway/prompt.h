// The token ids a request conditions on, shared by Generate and Score:
// given ids (BOS prepended when asked), or text encoded by fm-tokenizer.
#ifndef FM_SERVICES_GATEWAY_PROMPT_H_
#define FM_SERVICES_GATEWAY_PROMPT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fm/v1/common.pb.h"
#include "services/gateway/backends.h"

namespace fm::gateway {

// `text` through the tokenizer, with the client's deadline (or `timeout`).
absl::StatusOr<std::vector<int32_t>> EncodeText(
    const Backends& backends, const grpc::CallbackServerContext& server_ctx,
    absl::Duration timeout, const std::string& text, bool add_bos,
    bool parse_special = false, bool continuation = false);

// `ids` when non-null (each checked against the vocabulary), else `text`;
// an empty text with add_bos is BOS alone. INVALID_ARGUMENT when the
// result is empty (nothing to condition on).
absl::StatusOr<std::vector<int32_t>> PromptIds(
    const Backends& backends, const PipelineFacts& facts,
    const grpc::CallbackServerContext& server_ctx, absl::Duration timeout,
    const fm::v1::TokenIds* ids, const std::string& text, bool add_bos,
    bool parse_special = false);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_PROMPT_H_
