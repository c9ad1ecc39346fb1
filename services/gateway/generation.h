// Generation: one Generate request, run on a gateway worker thread from
// tokenization to the last streamed token: open a model session and a
// sampler session, then loop forward -> sample -> detokenize -> check stops
// -> emit. Downstream calls inherit the client's deadline and cancellation.
#ifndef FM_SERVICES_GATEWAY_GENERATION_H_
#define FM_SERVICES_GATEWAY_GENERATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "fm/v1/gateway.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/response_cache.h"

namespace fm::gateway {

struct GenerationLimits {
  int32_t max_prompt_tokens = 4096;
  int32_t max_tokens_limit = 4096;
  int32_t default_max_tokens = 256;
  int32_t max_n = 16;
  int32_t max_stops = 8;
  int32_t max_stop_bytes = 256;
  int32_t max_top_logprobs = 20;
  // Deadline for downstream calls when the client set none.
  absl::Duration default_timeout = absl::Minutes(10);
  // A model or sampler session lost mid-generation (the service
  // restarted, or the connection broke) is replaced this many times per
  // request and dependency, each time waiting at most resume_timeout for a
  // replica to accept connections; 0 turns resuming off.
  int32_t max_resumes = 3;
  absl::Duration resume_timeout = absl::Seconds(10);
};

// Receives the streamed messages (the Generate reactor).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Queues one message; false once the client is gone.
  virtual bool Write(fm::v1::GenerateResponse response) = 0;
};

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

// Downstream context carrying the client's deadline (or `fallback` from now
// when it has none) and cancellation.
std::unique_ptr<grpc::ClientContext> DownstreamContext(
    const grpc::CallbackServerContext& server_ctx, absl::Duration fallback);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GENERATION_H_
