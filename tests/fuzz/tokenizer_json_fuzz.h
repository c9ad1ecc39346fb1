// One input of the tokenizer.json fuzz target: the bytes as a
// tokenizer.json (and, after a line "\n--config--\n", a
// tokenizer_config.json) through ParseHfTokenizer, then the tokenizer it
// builds encodes (special tokens as text and parsed) and decodes a few
// texts. Shared by the libFuzzer entry point and the regression test.
#ifndef FM_TESTS_FUZZ_TOKENIZER_JSON_FUZZ_H_
#define FM_TESTS_FUZZ_TOKENIZER_JSON_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace fm::fuzz {

// Never crashes, hangs or leaks, whatever the bytes; returns 0.
int FuzzTokenizerJson(const uint8_t* data, size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_TOKENIZER_JSON_FUZZ_H_
