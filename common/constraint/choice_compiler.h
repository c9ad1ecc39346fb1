// CompileChoice: a constraint that the whole text is one of a list of
// strings (a classifier's labels, an enum).
#ifndef FM_COMMON_CONSTRAINT_CHOICE_COMPILER_H_
#define FM_COMMON_CONSTRAINT_CHOICE_COMPILER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/constraint/byte_grammar.h"

namespace fm::constraint {

struct ChoiceLimits {
  int32_t max_choices = 4096;
  int64_t max_total_bytes = 1 << 20;
};

// INVALID_ARGUMENT for no choices or a choice that is not valid UTF-8
// (naming its index); RESOURCE_EXHAUSTED beyond `limits`.
// Appends to `grammar` a rule matching exactly the byte strings of
// `literals`, shared prefixes factored out (a trie: whatever the number of
// literals, a recognizer holds one parse per distinct continuation) and
// returns its index.
int32_t AddLiteralTrie(const std::vector<std::string>& literals,
                       ByteGrammar* grammar);

absl::StatusOr<ByteGrammar> CompileChoice(
    const std::vector<std::string>& choices, const ChoiceLimits& limits = {});

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_CHOICE_COMPILER_H_
