// ModelMirror: the token sequences of one model session as the gateway has
// asked for them, so that a session lost mid-generation (the model service
// restarted, or the connection to it broke) can be rebuilt on a new one by
// re-prefilling every sequence.
#ifndef FM_SERVICES_GATEWAY_MODEL_MIRROR_H_
#define FM_SERVICES_GATEWAY_MODEL_MIRROR_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "fm/v1/model.pb.h"

namespace fm::gateway {

class ModelMirror {
 public:
  // Applies the ops of a request about to be sent (append, fork, drop,
  // truncate, with the model's semantics), so the mirror holds the state
  // the session has once that request succeeds.
  void Apply(const fm::v1::SessionRequest& request);

  // One request that recreates every sequence on an empty session: the
  // prefix all sequences share is appended once and forked; then each
  // sequence's own tokens are appended. `result_of[id]` is the index of the
  // result that holds sequence id's last logits.
  struct Rebuild {
    fm::v1::SessionRequest request;
    std::map<int32_t, int> result_of;
  };
  absl::StatusOr<Rebuild> MakeRebuild(
      const fm::v1::LogitsFormat& logits_format) const;

  // The logits `failed` would have returned, taken from the response to a
  // rebuild made after applying it: one result per append op of `failed`,
  // in order, holding that sequence's last logits.
  static absl::StatusOr<fm::v1::SessionResponse> AnswerFromRebuild(
      const fm::v1::SessionRequest& failed, const Rebuild& rebuild,
      const fm::v1::SessionResponse& rebuilt);

  const std::map<int32_t, std::vector<int32_t>>& sequences() const {
    return sequences_;
  }

 private:
  std::map<int32_t, std::vector<int32_t>> sequences_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_MODEL_MIRROR_H_
