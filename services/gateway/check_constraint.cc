// RunCheckConstraint: encode, then one sampler call with the client's
// deadline.
#include "services/gateway/check_constraint.h"

#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/utf8.h"
#include "services/gateway/constraint_spec.h"
#include "services/gateway/downstream_context.h"
#include "services/gateway/prompt.h"

namespace fm::gateway {

absl::Status RunCheckConstraint(
    const Backends& backends, const GenerationLimits& limits,
    const grpc::CallbackServerContext& server_ctx,
    const fm::v1::GatewayCheckConstraintRequest& request,
    fm::v1::ConstraintCheck* response) {
  FM_ASSIGN_OR_RETURN(auto facts, backends.Facts());
  fm::v1::CheckConstraintRequest check;
  FM_ASSIGN_OR_RETURN(*check.mutable_constraint(),
                      ConstraintStageSpec(request.constraint(), "constraint"));
  FM_RETURN_IF_ERROR(ValidateUtf8(request.text(), "text"));
  FM_ASSIGN_OR_RETURN(auto route,
                      backends.routes()->Find(request.sampler_route()));
  if (!request.text().empty()) {
    FM_ASSIGN_OR_RETURN(
        std::vector<int32_t> ids,
        EncodeText(backends, server_ctx, limits.default_timeout, request.text(),
                   /*add_bos=*/false, /*parse_special=*/false,
                   /*continuation=*/true));
    check.mutable_tokens()->Add(ids.begin(), ids.end());
  }
  check.set_tokenizer_sha256(facts->tokenizer.model_sha256());
  auto ctx = DownstreamContext(server_ctx, limits.default_timeout);
  return FromGrpcStatus(
      route->stub->CheckConstraint(ctx.get(), check, response), "sampler");
}

}  // namespace fm::gateway
