// The `regex` constraint: the generated text (up to end of generation)
// matches a regular expression as a whole (see common/constraint/
// regex_compiler.h for the syntax).
#include <memory>

#include "common/constraint/regex_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo RegexStageInfo() {
  StageInfo info(
      "regex",
      "Constraint: only tokens that keep the generated text a prefix of a "
      "match of `pattern` (ECMAScript syntax, whole text) stay; end of "
      "generation only once the text matches. Needs the sampler's "
      "vocabulary (--tokenizer).",
      StageKind::kFilter,
      {RequiredStringParam("pattern",
                           "the regular expression the whole "
                           "generated text must match")},
      [](const StageParams& p) -> std::unique_ptr<SamplerStage> {
        auto grammar = constraint::CompileRegex(p.String("pattern"));
        // check() compiled it already; a failure here cannot happen, and
        // a grammar matching nothing is the fail-closed answer.
        auto shared = std::make_shared<const constraint::ByteGrammar>(
            grammar.ok() ? *std::move(grammar) : constraint::ByteGrammar());
        return std::make_unique<ConstraintStage>(
            "regex", std::move(shared),
            ConstraintContentKey("regex", p.String("pattern")));
      });
  info.check = [](const StageParams& p) {
    return constraint::CompileRegex(p.String("pattern")).status();
  };
  info.example = {{"pattern", std::string("(yes|no)")}};
  info.needs_vocabulary = true;
  return info;
}

}  // namespace fm::sampler
