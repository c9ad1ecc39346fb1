// CompileRegex: a regular expression (the ECMAScript syntax JSON Schema's
// `pattern` uses, without the parts that are not regular) to a ByteGrammar
// matching exactly the UTF-8 texts the whole pattern matches.
//
// Supported: literals (any UTF-8), `.` (any character but line
// terminators), classes `[...]` / `[^...]` with ranges, `\d \w \s \D \W \S`,
// escapes `\n \r \t \f \v \0 \xHH \uHHHH \u{H...}` and escaped
// metacharacters, groups `(...)`, `(?:...)`, `(?<name>...)`, alternation,
// quantifiers `* + ? {n} {n,} {n,m}` (a lazy `?` suffix matches the same
// texts), `^` at the start and `$` at the end of a top-level alternative.
// Anything else (backreferences, lookaround, `\b`, flags, anchors elsewhere) is
// INVALID_ARGUMENT naming it and its byte offset; never silently widened.
#ifndef FM_COMMON_CONSTRAINT_REGEX_COMPILER_H_
#define FM_COMMON_CONSTRAINT_REGEX_COMPILER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/constraint/byte_grammar.h"
#include "common/constraint/pattern_tree.h"

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

enum class RegexMatch {
  kWhole,   // the whole text matches (anchors change nothing)
  kSearch,  // the pattern matches somewhere in the text, as JSON Schema's
            // `pattern` does: a top-level branch is held to the text's
            // start only by '^' and to its end only by '$'
};

// Appends to `grammar` a rule matching exactly the texts `pattern` matches
// in the way `match` says, with characters written as `encoding` says,
// and returns its index (for compilers that embed regexes: JSON Schema's
// `pattern` inside a JSON string).
absl::StatusOr<int32_t> AddRegexRule(
    absl::string_view pattern, const RegexLimits& limits, ByteGrammar* grammar,
    RegexMatch match = RegexMatch::kWhole,
    TextEncoding encoding = TextEncoding::kUtf8);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_REGEX_COMPILER_H_
