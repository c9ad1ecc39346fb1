// GatewayCalls: the Generate (or Chat) calls one HTTP request makes to the
// gateway's own gRPC API (in process), as one queue of events the HTTP
// thread takes at its pace. The reactions only queue: they never block.
#ifndef FM_SERVICES_GATEWAY_OPENAI_GATEWAY_CALLS_H_
#define FM_SERVICES_GATEWAY_OPENAI_GATEWAY_CALLS_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fm/v1/gateway.grpc.pb.h"

namespace fm::gateway::openai {

struct CallEvent {
  // Which call: the index of its Start.
  int call = 0;
  // A message, or (done) the call's end with its status.
  bool done = false;
  fm::v1::GenerateResponse message;
  absl::Status status;
};

class GatewayCalls {
 public:
  // `authorization` is the HTTP Authorization header, passed on as the
  // call's metadata ("" for none); every call ends by `deadline`.
  GatewayCalls(fm::v1::GatewayService::StubInterface* stub,
               std::string authorization, absl::Time deadline);
  // Cancels what still runs and waits for every call to end.
  ~GatewayCalls();
  GatewayCalls(const GatewayCalls&) = delete;
  GatewayCalls& operator=(const GatewayCalls&) = delete;

  void StartGenerate(const fm::v1::GenerateRequest& request);
  void StartChat(const fm::v1::ChatRequest& request);

  // The next event, waiting up to `timeout`; nullopt when none came.
  std::optional<CallEvent> Next(absl::Duration timeout);
  // True once every started call has ended and its end was taken by Next.
  bool Finished();
  // Cancels every call still running (each then ends CANCELLED).
  void CancelAll();

 private:
  class Call;
  // A new call, `bind` to its method, then started.
  void Start(const std::function<void(Call*)>& bind);
  void Push(CallEvent event);

  fm::v1::GatewayService::StubInterface* stub_;
  const std::string authorization_;
  const absl::Time deadline_;
  std::vector<std::unique_ptr<Call>> calls_;

  absl::Mutex mu_;
  std::deque<CallEvent> events_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int ends_taken_ = 0;
};

}  // namespace fm::gateway::openai

#endif  // FM_SERVICES_GATEWAY_OPENAI_GATEWAY_CALLS_H_
