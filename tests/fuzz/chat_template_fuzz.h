// One input of the chat template fuzz target: the bytes as a Jinja2
// template, parsed and (when it parses) rendered with a small
// conversation under tight render limits. Shared by the libFuzzer entry
// point and the regression test.
#ifndef FM_TESTS_FUZZ_CHAT_TEMPLATE_FUZZ_H_
#define FM_TESTS_FUZZ_CHAT_TEMPLATE_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace fm::fuzz {

// Never crashes, hangs or leaks, whatever the bytes; returns 0.
int FuzzChatTemplate(const uint8_t* data, size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_CHAT_TEMPLATE_FUZZ_H_
