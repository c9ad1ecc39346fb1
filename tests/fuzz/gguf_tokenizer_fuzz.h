// One input of the GGUF tokenizer fuzz target: the bytes as a GGUF file,
// through the reader, the vocabulary checks and the tokenizer built from
// it (SentencePiece-style or byte-level BPE), which then encodes and
// decodes a few texts. Shared by the libFuzzer
// entry point (clang) and the mutation test that runs in every build.
#ifndef FM_TESTS_FUZZ_GGUF_TOKENIZER_FUZZ_H_
#define FM_TESTS_FUZZ_GGUF_TOKENIZER_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace fm::fuzz {

// Never crashes, hangs or leaks, whatever the bytes; returns 0.
int FuzzGgufTokenizer(const uint8_t* data, size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_GGUF_TOKENIZER_FUZZ_H_
