// libFuzzer entry point (clang -fsanitize=fuzzer): scripts/fuzz.sh.
#include "tests/fuzz/constraint_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fm::fuzz::FuzzConstraint(data, size);
}
