// Lexer: template source -> tokens. Text between tags is kept as text
// tokens, with Jinja2's whitespace control applied as Hugging Face
// configures it for chat templates (trim_blocks, lstrip_blocks, "-" on
// either side of a tag, one trailing newline dropped); inside tags the
// names, literals and operators of the expression language.
#ifndef FM_COMMON_JINJA_LEXER_H_
#define FM_COMMON_JINJA_LEXER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm::jinja {

struct Token {
  enum class Kind {
    kText,         // raw text
    kOutputBegin,  // {{
    kOutputEnd,    // }}
    kBlockBegin,   // {%
    kBlockEnd,     // %}
    kName,
    kString,       // text: the decoded string
    kInteger,
    kFloat,
    kOperator,     // text: "==", "(", "|", ...
    kEnd,          // end of the source
  };
  Kind kind;
  std::string text;
  int line;
};

// INVALID_ARGUMENT naming the line for an unclosed tag, comment or
// string, or a character no token starts with.
absl::StatusOr<std::vector<Token>> Lex(absl::string_view source);

}  // namespace fm::jinja

#endif  // FM_COMMON_JINJA_LEXER_H_
