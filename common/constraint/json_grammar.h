// JsonGrammar: any JSON text (RFC 8259) as a ByteGrammar — a value, or
// only an object — with the free whitespace between tokens bounded, so a
// model cannot fill its output with blanks (a known failure of
// unconstrained JSON modes).
#ifndef FM_COMMON_CONSTRAINT_JSON_GRAMMAR_H_
#define FM_COMMON_CONSTRAINT_JSON_GRAMMAR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/constraint/byte_grammar.h"

namespace fm::constraint {

struct JsonGrammarOptions {
  // The text is one object (the usual "JSON mode"); else any value.
  bool object_only = false;
  // Whitespace characters (space, tab, newline, carriage return) allowed
  // in one gap between tokens; 0 gives compact JSON.
  int32_t max_whitespace = 12;
};

// The GBNF of that language (its rules: value, object, member, array,
// string, char, number, ws), for documentation and for grammars that
// embed JSON.
std::string JsonGbnf(const JsonGrammarOptions& options);

absl::StatusOr<ByteGrammar> CompileJsonGrammar(
    const JsonGrammarOptions& options);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_JSON_GRAMMAR_H_
