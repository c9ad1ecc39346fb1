// RunCheckConstraint: the gateway's CheckConstraint — a text tokenized by
// the serving tokenizer as generated text (a continuation: no dummy
// prefix), walked through the constraint by a sampler route, no model.
#ifndef FM_SERVICES_GATEWAY_CHECK_CONSTRAINT_H_
#define FM_SERVICES_GATEWAY_CHECK_CONSTRAINT_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "fm/v1/gateway.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/generation_limits.h"

namespace fm::gateway {

absl::Status RunCheckConstraint(
    const Backends& backends, const GenerationLimits& limits,
    const grpc::CallbackServerContext& server_ctx,
    const fm::v1::GatewayCheckConstraintRequest& request,
    fm::v1::ConstraintCheck* response);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_CHECK_CONSTRAINT_H_
