// One input of the GGUF model fuzz target: the bytes as a model file,
// through the reader, the architecture's keys, the tensor table and every
// weight type's sizes, and, when they load, a short forward pass (prefill,
// decode, a batch of two). Shared by the libFuzzer entry point (clang) and
// the mutation test that runs in every build.
#ifndef FM_TESTS_FUZZ_GGUF_MODEL_FUZZ_H_
#define FM_TESTS_FUZZ_GGUF_MODEL_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace fm::fuzz {

// Never crashes, hangs or leaks, whatever the bytes; returns 0.
int FuzzGgufModel(const uint8_t* data, size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_GGUF_MODEL_FUZZ_H_
