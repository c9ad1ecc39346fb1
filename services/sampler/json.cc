// The `json` constraint: the generated text is one JSON value (or, with
// `object`, one JSON object), with free whitespace bounded.
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/constraint/json_grammar.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

constraint::JsonGrammarOptions Options(const StageParams& p) {
  constraint::JsonGrammarOptions options;
  options.object_only = p.Bool("object");
  options.max_whitespace = static_cast<int32_t>(p.Int("max_whitespace"));
  return options;
}

}  // namespace

StageInfo JsonStageInfo() {
  StageInfo info(
      "json",
      "Constraint: the generated text is one JSON value (RFC 8259), or one "
      "object with `object`; at most `max_whitespace` blanks between tokens. "
      "Needs the sampler's vocabulary (--tokenizer).",
      StageKind::kFilter,
      {BoolParam("object", false, "only a JSON object (\"JSON mode\")"),
       IntParam("max_whitespace", 0, 64, 12,
                "whitespace characters allowed in one gap between tokens")},
      [](const StageParams& p) -> std::unique_ptr<SamplerStage> {
        auto grammar = constraint::CompileJsonGrammar(Options(p));
        auto shared = std::make_shared<const constraint::ByteGrammar>(
            grammar.ok() ? *std::move(grammar) : constraint::ByteGrammar());
        return std::make_unique<ConstraintStage>(
            "json", std::move(shared),
            ConstraintContentKey(
                "json", absl::StrCat(p.Bool("object") ? "object" : "value", "/",
                                     p.Int("max_whitespace"))));
      });
  info.check = [](const StageParams& p) {
    return constraint::CompileJsonGrammar(Options(p)).status();
  };
  info.needs_vocabulary = true;
  return info;
}

}  // namespace fm::sampler
