// JsonGrammar: RFC 8259's grammar written in GBNF, compiled by CompileGbnf.
#include "common/constraint/json_grammar.h"

#include "absl/strings/str_cat.h"
#include "common/constraint/gbnf_compiler.h"

namespace fm::constraint {

std::string JsonGbnf(const JsonGrammarOptions& options) {
  return absl::StrCat(
      "root   ::= ", options.object_only ? "object" : "value", "\n",
      R"(value  ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( member ( "," ws member )* )? "}"
member ::= string ws ":" ws value ws
array  ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" char* "\""
char   ::= [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
)",
      "ws     ::= [ \\t\\n\\r]{0,", options.max_whitespace, "}\n");
}

absl::StatusOr<ByteGrammar> CompileJsonGrammar(
    const JsonGrammarOptions& options) {
  return CompileGbnf(JsonGbnf(options));
}

}  // namespace fm::constraint
