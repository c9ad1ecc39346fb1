// One input of the openai_request fuzz target: a request body, parsed as
// both endpoints' bodies (ParseOpenAiRequest), and when a plan comes out,
// its error and response renderings. Shared by the regression test and the
// libFuzzer entry point (libfuzzer_openai_request.cc).
#ifndef FM_TESTS_FUZZ_OPENAI_REQUEST_FUZZ_H_
#define FM_TESTS_FUZZ_OPENAI_REQUEST_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace fm::fuzz {

// Never crashes, hangs or leaks. Returns 0.
int FuzzOpenAiRequest(const uint8_t* data, size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_OPENAI_REQUEST_FUZZ_H_
