// One input of the constraint fuzz target: the first byte picks the kind
// (odd: a regex; 2 mod 4: a GBNF grammar; 0 mod 4: choices one per line),
// the rest is the constraint's source.
// When it compiles, a random walk over a small byte vocabulary checks the
// engine's one promise: every token the mask allows is accepted, and
// every token it refuses is refused. Shared by the libFuzzer entry point
// and the regression test.
#ifndef FM_TESTS_FUZZ_CONSTRAINT_FUZZ_H_
#define FM_TESTS_FUZZ_CONSTRAINT_FUZZ_H_

#include <cstddef>
#include <cstdint>

#include "common/constraint/byte_grammar.h"

namespace fm::fuzz {

// Never crashes, hangs or leaks; traps when a mask and Advance disagree.
// Returns 0.
int FuzzConstraint(const uint8_t* data, size_t size);

// The walk alone, over a compiled `grammar`, its tokens picked by a hash
// of `data` (shared with the json_schema target).
int WalkConstraint(const constraint::ByteGrammar& grammar, const uint8_t* data,
                   size_t size);

}  // namespace fm::fuzz

#endif  // FM_TESTS_FUZZ_CONSTRAINT_FUZZ_H_
