// The `regex` constraint: the generated text (up to end of generation)
// matches a regular expression as a whole (see common/constraint/
// regex_compiler.h for the syntax).
#include <string>

#include "common/constraint/regex_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo RegexStageInfo() {
  StageInfo info = ConstraintStageInfo(
      "regex",
      "Constraint: only tokens that keep the generated text a prefix of a "
      "match of `pattern` (ECMAScript syntax, whole text) stay; end of "
      "generation only once the text matches. Needs the sampler's "
      "vocabulary (--tokenizer).",
      {RequiredStringParam("pattern",
                           "the regular expression the whole "
                           "generated text must match")},
      [](const StageParams& p) {
        return constraint::CompileRegex(p.String("pattern"));
      },
      [](const StageParams& p) { return p.String("pattern"); });
  info.example = {{"pattern", std::string("(yes|no)")}};
  return info;
}

}  // namespace fm::sampler
