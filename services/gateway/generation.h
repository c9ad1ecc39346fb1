// RunGeneration: one Generate request, run on a gateway worker thread from
// validation to the last streamed token: a plan validated once, the
// response cache, then a model session and a sampler session (each owning
// its recovery) driven by the decode loop. Downstream calls inherit the
// client's deadline and cancellation.
#ifndef FM_SERVICES_GATEWAY_GENERATION_H_
#define FM_SERVICES_GATEWAY_GENERATION_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "fm/v1/gateway.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/downstream_context.h"
#include "services/gateway/generation_limits.h"
#include "services/gateway/response_cache.h"
#include "services/gateway/response_sink.h"

namespace fm::gateway {

// Runs one request to completion. Blocking: call on a worker thread.
// Returns OK after the last message of every sequence was written, or the
// status that ended the generation (INVALID_ARGUMENT for bad input, the
// downstream status with the service named, CANCELLED, DEADLINE_EXCEEDED).
// A lost model session is rebuilt by re-prefilling the prompt and every
// token generated so far on a new session, and a lost sampler session is
// continued in a new one from each sequence's sampled tokens (see
// GenerationLimits); the stream goes on without a gap or a repeat, and with
// the same seed the text is the one an uninterrupted run gives.
absl::Status RunGeneration(const Backends& backends, ResponseCache* cache,
                           const GenerationLimits& limits,
                           const grpc::CallbackServerContext& server_ctx,
                           const fm::v1::GenerateRequest& request,
                           ResponseSink* sink);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GENERATION_H_
