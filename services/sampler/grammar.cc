// The `grammar` constraint: the generated text matches the `root` rule of
// a GBNF grammar (see common/constraint/gbnf_compiler.h for the syntax).
#include <string>

#include "common/constraint/gbnf_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo GrammarStageInfo() {
  StageInfo info = ConstraintStageInfo(
      "grammar",
      "Constraint: the generated text matches the `root` rule of a GBNF "
      "grammar (llama.cpp's EBNF: rules, \"literals\", [classes], groups, "
      "| * + ? {m,n}). Needs the sampler's vocabulary (--tokenizer).",
      {RequiredStringParam("gbnf", "the grammar, with a `root` rule")},
      [](const StageParams& p) {
        return constraint::CompileGbnf(p.String("gbnf"));
      },
      [](const StageParams& p) { return p.String("gbnf"); });
  info.example = {{"gbnf", std::string("root ::= (\"yes\" | \"no\") \".\"")}};
  return info;
}

}  // namespace fm::sampler
