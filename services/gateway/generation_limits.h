// GenerationLimits: the gateway's bounds on one Generate request (set by
// flags) and on how it recovers from a lost downstream session.
#ifndef FM_SERVICES_GATEWAY_GENERATION_LIMITS_H_
#define FM_SERVICES_GATEWAY_GENERATION_LIMITS_H_

#include <cstdint>

#include "absl/time/time.h"

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

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_GENERATION_LIMITS_H_
