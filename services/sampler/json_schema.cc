// The `json_schema` constraint: the generated text is one JSON value that
// validates against a JSON Schema (see common/constraint/
// json_schema_compiler.h for the keywords and what is refused).
#include <string>

#include "absl/strings/str_cat.h"
#include "common/constraint/json_schema_compiler.h"
#include "services/sampler/constraint_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

StageInfo JsonSchemaStageInfo() {
  StageInfo info = ConstraintStageInfo(
      "json_schema",
      "Constraint: the generated text is one JSON value valid against "
      "`schema` (draft 2020-12: types, enum/const, numeric bounds, lengths, "
      "pattern, formats, properties/required/additionalProperties, "
      "prefixItems/items and counts, allOf/anyOf/oneOf, $ref/$defs; other "
      "keywords are refused, never ignored); at most `max_whitespace` blanks "
      "between tokens. Needs the sampler's vocabulary (--tokenizer).",
      {RequiredStringParam("schema",
                           "the JSON Schema (its text, or inline in a chain's "
                           "JSON)"),
       IntParam("max_whitespace", 0, 64, 12,
                "whitespace characters allowed in one gap between tokens")},
      [](const StageParams& p) {
        constraint::JsonSchemaOptions options;
        options.max_whitespace = static_cast<int32_t>(p.Int("max_whitespace"));
        return constraint::CompileJsonSchema(p.String("schema"), options);
      },
      [](const StageParams& p) {
        return absl::StrCat(p.Int("max_whitespace"), "/", p.String("schema"));
      });
  info.example = {
      {"schema",
       std::string(R"({"type":"object","properties":{"answer":{"enum":)"
                   R"(["yes","no"]}},"required":["answer"],)"
                   R"("additionalProperties":false})")}};
  return info;
}

}  // namespace fm::sampler
