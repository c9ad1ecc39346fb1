// libFuzzer entry point (clang -fsanitize=fuzzer): scripts/fuzz.sh.
#include "tests/fuzz/chat_template_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fm::fuzz::FuzzChatTemplate(data, size);
}
