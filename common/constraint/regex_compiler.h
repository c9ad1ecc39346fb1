// CompileRegex: a regular expression (the ECMAScript syntax JSON Schema's
// `pattern` uses, without the parts that are not regular) to a ByteGrammar
// matching exactly the UTF-8 texts the whole pattern matches.
//
// Supported: literals (any UTF-8), `.` (any character but line
// terminators), classes `[...]` / `[^...]` with ranges, `\d \w \s \D \W \S`,
// escapes `\n \r \t \f \v \0 \xHH \uHHHH \u{H...}` and escaped
// metacharacters, groups `(...)`, `(?:...)`, `(?<name>...)`, alternation,
// quantifiers `* + ? {n} {n,} {n,m}` (a lazy `?` suffix matches the same
// texts), `^` at the very start and `$` at the very end. Anything else
// (backreferences, lookaround, `\b`, flags, anchors elsewhere) is
// INVALID_ARGUMENT naming it and its byte offset; never silently widened.
#ifndef FM_COMMON_CONSTRAINT_REGEX_COMPILER_H_
#define FM_COMMON_CONSTRAINT_REGEX_COMPILER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/constraint/byte_grammar.h"

namespace fm::constraint {

struct RegexLimits {
  int64_t max_pattern_bytes = 1 << 16;
  int32_t max_nesting = 200;   // groups within groups
  int32_t max_repeat = 10000;  // n and m of {n,m}
  GrammarLimits grammar;       // what the pattern may compile to
};

// The grammar of `pattern`, validated. RESOURCE_EXHAUSTED when it exceeds
// `limits`.
absl::StatusOr<ByteGrammar> CompileRegex(absl::string_view pattern,
                                         const RegexLimits& limits = {});

// Appends to `grammar` a rule matching exactly what `pattern` matches and
// returns its index (for compilers that embed regexes: JSON Schema's
// `pattern`, a grammar's regex terminals).
absl::StatusOr<int32_t> AddRegexRule(absl::string_view pattern,
                                     const RegexLimits& limits,
                                     ByteGrammar* grammar);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_REGEX_COMPILER_H_
