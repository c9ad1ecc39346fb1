// libFuzzer entry point (clang -fsanitize=fuzzer): scripts/fuzz.sh.
#include "tests/fuzz/openai_request_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fm::fuzz::FuzzOpenAiRequest(data, size);
}
