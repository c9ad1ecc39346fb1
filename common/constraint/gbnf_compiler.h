// CompileGbnf: a grammar in GBNF (llama.cpp's EBNF dialect) to a
// ByteGrammar. The grammar's `root` rule is what the whole generated text
// must match.
//
//   # comment
//   root   ::= answer ("," ws answer)*
//   answer ::= "yes" | "no" | [0-9]{1,3}
//   ws     ::= [ \t\n]*
//
// Rules are `name ::= alternatives`; names are [A-Za-z0-9_-]+, and a rule
// may be used before it is defined. Items: "literal" strings, [classes]
// (ranges, ^ negation), `.` (any character), rule names, ( groups ), and
// the quantifiers * + ? {m} {m,} {m,n}. Escapes in literals and classes:
// \n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH. A rule's body runs until
// the next `name ::=` (newlines are whitespace). Errors are
// INVALID_ARGUMENT naming the line and column: an undefined or duplicate
// rule, no `root`, a left-recursive rule (rewrite it with repetition);
// RESOURCE_EXHAUSTED beyond the limits.
#ifndef FM_COMMON_CONSTRAINT_GBNF_COMPILER_H_
#define FM_COMMON_CONSTRAINT_GBNF_COMPILER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/constraint/byte_grammar.h"

namespace fm::constraint {

struct GbnfLimits {
  int64_t max_source_bytes = 1 << 20;
  int32_t max_nesting = 200;   // groups within groups
  int32_t max_repeat = 10000;  // m and n of {m,n}
  GrammarLimits grammar;
};

absl::StatusOr<ByteGrammar> CompileGbnf(absl::string_view source,
                                        const GbnfLimits& limits = {});

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_GBNF_COMPILER_H_
