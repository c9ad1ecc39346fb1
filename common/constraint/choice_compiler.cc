// CompileChoice: one alternative of literal bytes per choice.
#include "common/constraint/choice_compiler.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace fm::constraint {

absl::StatusOr<ByteGrammar> CompileChoice(
    const std::vector<std::string>& choices, const ChoiceLimits& limits) {
  if (choices.empty()) {
    return absl::InvalidArgumentError("choice: the list is empty");
  }
  if (static_cast<int64_t>(choices.size()) > limits.max_choices) {
    return absl::ResourceExhaustedError(absl::StrCat("choice: ", choices.size(),
                                                     " choices; the limit is ",
                                                     limits.max_choices));
  }
  int64_t total = 0;
  for (const std::string& c : choices) total += static_cast<int64_t>(c.size());
  if (total > limits.max_total_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("choice: ", total, " bytes in all; the limit is ",
                     limits.max_total_bytes));
  }
  GrammarLimits grammar_limits;
  grammar_limits.max_elements =
      total + 2 * static_cast<int64_t>(choices.size()) + 16;
  ByteGrammar grammar(grammar_limits);
  const int32_t root = grammar.AddRule("choice");
  for (size_t i = 0; i < choices.size(); ++i) {
    FM_RETURN_IF_ERROR(
        ValidateUtf8(choices[i], absl::StrCat("choice[", i, "]")));
    Alternative alt;
    for (char c : choices[i]) {
      ByteSet one;
      one.set(static_cast<uint8_t>(c));
      alt.push_back(grammar.Bytes(one));
    }
    grammar.AddAlternative(root, std::move(alt));
  }
  grammar.set_root(root);
  FM_RETURN_IF_ERROR(grammar.Validate());
  return grammar;
}

}  // namespace fm::constraint
