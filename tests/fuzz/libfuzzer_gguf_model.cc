// libFuzzer entry point: GGUF model files (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/gguf_model_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fm::fuzz::FuzzGgufModel(data, size);
}
