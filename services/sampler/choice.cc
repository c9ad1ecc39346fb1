// The `choice` constraint: the generated text is exactly one of a list of
// strings (labels, an enum).
#include <string>

#include "common/constraint/choice_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo ChoiceStageInfo() {
  StageInfo info = ConstraintStageInfo(
      "choice",
      "Constraint: the generated text is exactly one of `choices`; end of "
      "generation once it is. Needs the sampler's vocabulary (--tokenizer).",
      {RequiredStringListParam("choices", "the texts allowed, at least one")},
      [](const StageParams& p) {
        return constraint::CompileChoice(p.Strings("choices"));
      },
      [](const StageParams& p) {
        // Lengths first, so that no two lists join to the same key.
        std::string source;
        for (const std::string& c : p.Strings("choices")) {
          source += std::to_string(c.size()) + ":" + c;
        }
        return source;
      });
  info.example = {{"choices", StringList{"yes", "no"}}};
  return info;
}

}  // namespace fm::sampler
