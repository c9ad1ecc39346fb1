#include "services/gateway/openai/gateway_calls.h"

#include <utility>

#include "absl/time/clock.h"

namespace fm::gateway::openai {

// One streaming call: every message and the end go to the owner's queue.
class GatewayCalls::Call final
    : public grpc::ClientReadReactor<fm::v1::GenerateResponse> {
 public:
  Call(GatewayCalls* owner, int index) : owner_(owner), index_(index) {
    if (!owner->authorization_.empty()) {
      ctx_.AddMetadata("authorization", owner->authorization_);
    }
    ctx_.set_deadline(absl::ToChronoTime(owner->deadline_));
  }
  grpc::ClientContext* context() { return &ctx_; }
  void Begin() {
    StartRead(&message_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    CallEvent event;
    event.call = index_;
    event.message = std::move(message_);
    message_.Clear();
    owner_->Push(std::move(event));
    StartRead(&message_);
  }
  void OnDone(const grpc::Status& status) override {
    CallEvent event;
    event.call = index_;
    event.done = true;
    event.status =
        absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                     status.error_message());
    owner_->Push(std::move(event));
  }
  void Cancel() { ctx_.TryCancel(); }

  fm::v1::GenerateRequest generate;
  fm::v1::ChatRequest chat;

 private:
  GatewayCalls* owner_;
  const int index_;
  grpc::ClientContext ctx_;
  fm::v1::GenerateResponse message_;
};

GatewayCalls::GatewayCalls(fm::v1::GatewayService::StubInterface* stub,
                           std::string authorization, absl::Time deadline)
    : stub_(stub),
      authorization_(std::move(authorization)),
      deadline_(deadline) {}

GatewayCalls::~GatewayCalls() {
  CancelAll();
  // OnDone comes for every started call, cancelled or not; the reactors
  // must outlive it.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &running_));
}

void GatewayCalls::StartGenerate(const fm::v1::GenerateRequest& request) {
  Start([&](Call* call) {
    call->generate = request;
    stub_->async()->Generate(call->context(), &call->generate, call);
  });
}

void GatewayCalls::StartChat(const fm::v1::ChatRequest& request) {
  Start([&](Call* call) {
    call->chat = request;
    stub_->async()->Chat(call->context(), &call->chat, call);
  });
}

void GatewayCalls::Start(const std::function<void(Call*)>& bind) {
  auto call = std::make_unique<Call>(this, static_cast<int>(calls_.size()));
  {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  bind(call.get());
  call->Begin();
  calls_.push_back(std::move(call));
}

void GatewayCalls::Push(CallEvent event) {
  absl::MutexLock lock(&mu_);
  if (event.done) --running_;
  events_.push_back(std::move(event));
}

std::optional<CallEvent> GatewayCalls::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(
      absl::Condition(
          +[](std::deque<CallEvent>* events) { return !events->empty(); },
          &events_),
      timeout);
  if (events_.empty()) return std::nullopt;
  CallEvent event = std::move(events_.front());
  events_.pop_front();
  if (event.done) ++ends_taken_;
  return event;
}

bool GatewayCalls::Finished() {
  return ends_taken_ == static_cast<int>(calls_.size());
}

void GatewayCalls::CancelAll() {
  for (auto& call : calls_) call->Cancel();
}

}  // namespace fm::gateway::openai
