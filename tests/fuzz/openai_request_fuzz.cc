#include "tests/fuzz/openai_request_fuzz.h"

#include <string>

#include "services/gateway/openai/openai_request.h"
#include "services/gateway/openai/openai_response.h"

namespace fm::fuzz {

int FuzzOpenAiRequest(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  using gateway::openai::Endpoint;
  for (Endpoint endpoint : {Endpoint::kCompletions, Endpoint::kChat}) {
    auto plan = gateway::openai::ParseOpenAiRequest(endpoint, body, "m");
    if (!plan.ok()) {
      (void)gateway::openai::ErrorJson(plan.status());
      continue;
    }
    // A plan renders: a message for every choice, whole and streamed.
    gateway::openai::ResponseRenderer renderer(
        *plan, {"id", 0, "m", "fp"},
        [](int32_t id) { return std::string(1, static_cast<char>(id)); });
    fm::v1::GenerateResponse m;
    m.set_text("x");
    m.add_token_ids(200);
    m.add_tokens()->set_id(200);
    m.set_finish_reason(fm::v1::FINISH_REASON_LENGTH);
    for (int i = 0; i < plan->n; ++i) {
      m.set_sequence_index(i);
      (void)renderer.Add(0, m);
    }
    (void)renderer.Start();
    (void)renderer.Finish();
    (void)renderer.Whole();
  }
  return 0;
}

}  // namespace fm::fuzz
