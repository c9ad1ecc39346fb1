// PatternNode: the syntax tree regular patterns parse to (a regex, the
// right-hand side of a GBNF rule): character sets, sequences,
// alternatives, repetitions and references to grammar rules; and its
// emission into a ByteGrammar.
#ifndef FM_COMMON_CONSTRAINT_PATTERN_TREE_H_
#define FM_COMMON_CONSTRAINT_PATTERN_TREE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/constraint/byte_grammar.h"
#include "common/constraint/code_point_set.h"

namespace fm::constraint {

struct PatternNode {
  enum class Kind { kEmpty, kClass, kConcat, kAlt, kRepeat, kRule };
  Kind kind = Kind::kEmpty;
  CodePointSet chars;                                  // kClass
  std::vector<std::unique_ptr<PatternNode>> children;  // kConcat, kAlt,
                                                       // kRepeat (one)
  int32_t min = 0, max = 0;  // kRepeat; max -1 = unbounded
  int32_t rule = -1;         // kRule: a rule of the grammar emitted into
};

std::unique_ptr<PatternNode> ClassNode(CodePointSet chars);
std::unique_ptr<PatternNode> RuleNode(int32_t rule);
// The code points of `utf8` (valid UTF-8) in sequence.
std::unique_ptr<PatternNode> LiteralNode(absl::string_view utf8);
std::unique_ptr<PatternNode> ConcatNode(
    std::vector<std::unique_ptr<PatternNode>> parts);
std::unique_ptr<PatternNode> AltNode(
    std::vector<std::unique_ptr<PatternNode>> choices);
std::unique_ptr<PatternNode> RepeatNode(std::unique_ptr<PatternNode> body,
                                        int32_t min, int32_t max);
// [lo, hi] as a set.
CodePointSet Range(uint32_t lo, uint32_t hi);

// How the characters of a pattern appear in the text.
enum class TextEncoding {
  kUtf8,
  // Inside a JSON string: '"' and '\\' escaped, control characters as
  // their short escapes or \u00XX (either case); every other character
  // as itself (the forms serializers write; a printable character spelled
  // \uXXXX is not matched, which narrows but never widens a constraint).
  kJsonStringContent,
};

// Adds the rules `node` needs to `grammar` and returns the sequence of
// elements that matches it (to splice into an alternative).
// RESOURCE_EXHAUSTED when the grammar outgrows its limits.
absl::StatusOr<Alternative> EmitPattern(
    const PatternNode& node, ByteGrammar* grammar,
    TextEncoding encoding = TextEncoding::kUtf8);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_PATTERN_TREE_H_
