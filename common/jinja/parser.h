// Parse: tokens -> syntax tree, for the subset of Jinja2 that chat
// templates use: for/if/elif/else/set (also block set and namespace
// attributes), macro, break/continue, expressions with filters, tests,
// calls, slicing and conditional expressions. Any other tag, or a filter,
// test, function or method the interpreter does not implement, is an
// error naming it and its line, so an unsupported template fails when it
// is loaded, not when a request renders it.
#ifndef FM_COMMON_JINJA_PARSER_H_
#define FM_COMMON_JINJA_PARSER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/jinja/ast.h"
#include "common/jinja/lexer.h"

namespace fm::jinja {

// Deepest nesting of blocks and expressions accepted.
inline constexpr int kMaxNesting = 100;

absl::StatusOr<Body> Parse(const std::vector<Token>& tokens);

}  // namespace fm::jinja

#endif  // FM_COMMON_JINJA_PARSER_H_
