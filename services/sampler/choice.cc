// The `choice` constraint: the generated text is exactly one of a list of
// strings (labels, an enum).
#include <memory>
#include <string>

#include "absl/strings/str_join.h"
#include "common/constraint/choice_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo ChoiceStageInfo() {
  StageInfo info(
      "choice",
      "Constraint: the generated text is exactly one of `choices`; end of "
      "generation once it is. Needs the sampler's vocabulary (--tokenizer).",
      StageKind::kFilter,
      {RequiredStringListParam("choices", "the texts allowed, at least one")},
      [](const StageParams& p) -> std::unique_ptr<SamplerStage> {
        auto grammar = constraint::CompileChoice(p.Strings("choices"));
        auto shared = std::make_shared<const constraint::ByteGrammar>(
            grammar.ok() ? *std::move(grammar) : constraint::ByteGrammar());
        // Lengths first, so that no two lists join to the same key.
        std::string source;
        for (const std::string& c : p.Strings("choices")) {
          source += std::to_string(c.size()) + ":" + c;
        }
        return std::make_unique<ConstraintStage>(
            "choice", std::move(shared),
            ConstraintContentKey("choice", source));
      });
  info.check = [](const StageParams& p) {
    return constraint::CompileChoice(p.Strings("choices")).status();
  };
  info.example = {{"choices", StringList{"yes", "no"}}};
  info.needs_vocabulary = true;
  return info;
}

}  // namespace fm::sampler
