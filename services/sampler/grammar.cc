// The `grammar` constraint: the generated text matches the `root` rule of
// a GBNF grammar (see common/constraint/gbnf_compiler.h for the syntax).
#include <memory>

#include "common/constraint/gbnf_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo GrammarStageInfo() {
  StageInfo info(
      "grammar",
      "Constraint: the generated text matches the `root` rule of a GBNF "
      "grammar (llama.cpp's EBNF: rules, \"literals\", [classes], groups, "
      "| * + ? {m,n}). Needs the sampler's vocabulary (--tokenizer).",
      StageKind::kFilter,
      {RequiredStringParam("gbnf", "the grammar, with a `root` rule")},
      [](const StageParams& p) -> std::unique_ptr<SamplerStage> {
        auto grammar = constraint::CompileGbnf(p.String("gbnf"));
        auto shared = std::make_shared<const constraint::ByteGrammar>(
            grammar.ok() ? *std::move(grammar) : constraint::ByteGrammar());
        return std::make_unique<ConstraintStage>(
            "grammar", std::move(shared),
            ConstraintContentKey("grammar", p.String("gbnf")));
      });
  info.check = [](const StageParams& p) {
    return constraint::CompileGbnf(p.String("gbnf")).status();
  };
  info.example = {{"gbnf", std::string("root ::= (\"yes\" | \"no\") \".\"")}};
  info.needs_vocabulary = true;
  return info;
}

}  // namespace fm::sampler
