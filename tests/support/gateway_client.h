// One Generate (or Chat) call against a gateway, collected: every message and the
// final status. Shared by the pipeline, deployment and multi-host tests.
#ifndef FM_TESTS_SUPPORT_GATEWAY_CLIENT_H_
#define FM_TESTS_SUPPORT_GATEWAY_CLIENT_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/channel_factory.h"
#include "fm/v1/gateway.grpc.pb.h"

namespace fm::testing {

struct GenerateResult {
  grpc::Status status;
  std::vector<fm::v1::GenerateResponse> messages;

  // The concatenated text of sequence `seq`.
  std::string Text(int seq = 0) const {
    std::string text;
    for (const auto& m : messages) {
      if (m.sequence_index() == seq) text += m.text();
    }
    return text;
  }
  // The last message of sequence `seq`, or null.
  const fm::v1::GenerateResponse* Last(int seq = 0) const {
    const fm::v1::GenerateResponse* last = nullptr;
    for (const auto& m : messages) {
      if (m.sequence_index() == seq) last = &m;
    }
    return last;
  }
};

// Streams `request` to the end (deadline `timeout`). `on_message`, when
// set, sees each message as it arrives (on the calling thread).
inline GenerateResult RunGenerate(
    fm::v1::GatewayService::Stub& stub, const fm::v1::GenerateRequest& request,
    absl::Duration timeout = absl::Seconds(60),
    const std::function<void(const fm::v1::GenerateResponse&)>& on_message =
        nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(timeout));
  auto reader = stub.Generate(&ctx, request);
  GenerateResult result;
  fm::v1::GenerateResponse m;
  while (reader->Read(&m)) {
    if (on_message) on_message(m);
    result.messages.push_back(m);
  }
  result.status = reader->Finish();
  return result;
}

// The same for one Chat call.
inline GenerateResult RunChat(fm::v1::GatewayService::Stub& stub,
                              const fm::v1::ChatRequest& request,
                              absl::Duration timeout = absl::Seconds(60)) {
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(timeout));
  auto reader = stub.Chat(&ctx, request);
  GenerateResult result;
  fm::v1::GenerateResponse m;
  while (reader->Read(&m)) result.messages.push_back(m);
  result.status = reader->Finish();
  return result;
}

// Greedy decoding of `prompt` for `max_tokens` tokens.
inline fm::v1::GenerateRequest Greedy(const std::string& prompt,
                                      int max_tokens) {
  fm::v1::GenerateRequest r;
  r.set_text(prompt);
  r.set_max_tokens(max_tokens);
  r.mutable_shorthand()->set_temperature(0);
  return r;
}

}  // namespace fm::testing

#endif  // FM_TESTS_SUPPORT_GATEWAY_CLIENT_H_
