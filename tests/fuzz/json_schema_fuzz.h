// One input of the json_schema fuzz target: a JSON Schema's text, compiled
// under tight limits (size, branches, nesting, a 200 ms deadline); when it
// compiles, the constraint walk of constraint_fuzz.h checks that masks and
// Advance agree. Shared by the libFuzzer entry point and the regression
// test.
#ifndef FM_TESTS_FUZZ_JSON_SCHEMA_FUZZ_H_
#define FM_TESTS_FUZZ_JSON_SCHEMA_FUZZ_H_

#include <cstddef>
#include <cstdint>

namespace fm::fuzz {

// Never crashes, hangs or leaks; traps when a mask and Advance disagree.
// Returns 0.
int FuzzJsonSchema(const uint8_t* data, size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_JSON_SCHEMA_FUZZ_H_
