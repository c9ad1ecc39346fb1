// ModelSession: a generation's session on fm-model, which owns its
// recovery. Every request is mirrored (ModelMirror) before it is sent, so
// that when the stream is lost (the model restarted, the connection broke)
// the session opens a new stream, re-prefills every sequence in one request
// and answers the failed request from it: callers see one uninterrupted
// session.
#ifndef FM_SERVICES_GATEWAY_MODEL_SESSION_H_
#define FM_SERVICES_GATEWAY_MODEL_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/token_id.h"
#include "fm/v1/model.pb.h"
#include "services/gateway/backends.h"
#include "services/gateway/exchange.h"
#include "services/gateway/generation_limits.h"
#include "services/gateway/model_mirror.h"

namespace fm::gateway {

class ModelSession {
 public:
  // `model_sha256`: the model the generation was planned against (a
  // replacement replica serving another one ends the session, ABORTED).
  // `logits_format`: what the model sends for every result, rebuilds
  // included. `head_among_allowed`: its head is only valid among each
  // append's allowed_ids, so a request with an append that has none (the
  // prompt's, a rebuild's) asks for dense logits instead.
  ModelSession(const Backends& backends,
               const grpc::CallbackServerContext& server_ctx,
               const GenerationLimits& limits, std::string model_sha256,
               fm::v1::LogitsFormat logits_format,
               bool head_among_allowed = false);

  // Sends `request` (its ops; the logits format is the session's, see
  // FormatFor) and
  // returns the model's answer. A lost stream is rebuilt up to
  // limits.max_resumes times per session; UNAVAILABLE when no replica
  // accepted a connection in time.
  absl::StatusOr<fm::v1::SessionResponse> Call(fm::v1::SessionRequest request);

  // Appends `prompt` to sequence 0 (which every other sequence forks
  // from) and returns the logits after it.
  absl::StatusOr<fm::v1::Logits> Prefill(absl::Span<const TokenId> prompt);

  // Ends the stream cleanly (the model frees the session's KV cache).
  void Close();

  // How many times the stream was rebuilt.
  int32_t resumes() const { return resumes_; }

 private:
  // The session's format, or dense when its head needs allowed ids that an
  // append of `request` lacks.
  fm::v1::LogitsFormat FormatFor(const fm::v1::SessionRequest& request) const;
  void Open();
  absl::StatusOr<fm::v1::SessionResponse> Resume(
      const fm::v1::SessionRequest& failed);

  const Backends& backends_;
  const grpc::CallbackServerContext& server_ctx_;
  const GenerationLimits& limits_;
  const std::string model_sha256_;
  const fm::v1::LogitsFormat logits_format_;
  const bool head_among_allowed_;
  std::unique_ptr<ModelExchange> exchange_;
  ModelMirror mirror_;  // the session's sequences, for a rebuild
  int32_t resumes_ = 0;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_MODEL_SESSION_H_
