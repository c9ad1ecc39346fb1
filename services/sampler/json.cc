// The `json` constraint: the generated text is one JSON value (or, with
// `object`, one JSON object), with free whitespace bounded.
#include "absl/strings/str_cat.h"
#include "common/constraint/json_grammar.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo JsonStageInfo() {
  return ConstraintStageInfo(
      "json",
      "Constraint: the generated text is one JSON value (RFC 8259), or one "
      "object with `object`; at most `max_whitespace` blanks between tokens. "
      "Needs the sampler's vocabulary (--tokenizer).",
      {BoolParam("object", false, "only a JSON object (\"JSON mode\")"),
       IntParam("max_whitespace", 0, 64, 12,
                "whitespace characters allowed in one gap between tokens")},
      [](const StageParams& p) {
        constraint::JsonGrammarOptions options;
        options.object_only = p.Bool("object");
        options.max_whitespace = static_cast<int32_t>(p.Int("max_whitespace"));
        return constraint::CompileJsonGrammar(options);
      },
      [](const StageParams& p) {
        return absl::StrCat(p.Bool("object") ? "object" : "value", "/",
                            p.Int("max_whitespace"));
      });
}

}  // namespace fm::sampler
