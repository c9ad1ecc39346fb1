// ConstraintStageSpec: one oneof case per constraint stage.
#include "services/gateway/constraint_spec.h"

#include "absl/strings/str_cat.h"

namespace fm::gateway {

absl::StatusOr<fm::v1::StageSpec> ConstraintStageSpec(
    const fm::v1::Constraint& constraint, absl::string_view field) {
  fm::v1::StageSpec spec;
  auto& params = *spec.mutable_params()->mutable_fields();
  bool json_like = false;
  switch (constraint.kind_case()) {
    case fm::v1::Constraint::kJsonSchema:
      spec.set_stage("json_schema");
      params["schema"].set_string_value(constraint.json_schema());
      json_like = true;
      break;
    case fm::v1::Constraint::kRegex:
      spec.set_stage("regex");
      params["pattern"].set_string_value(constraint.regex());
      break;
    case fm::v1::Constraint::kGrammar:
      spec.set_stage("grammar");
      params["gbnf"].set_string_value(constraint.grammar());
      break;
    case fm::v1::Constraint::kChoice: {
      spec.set_stage("choice");
      auto* list = params["choices"].mutable_list_value();
      for (const std::string& c : constraint.choice().choices()) {
        list->add_values()->set_string_value(c);
      }
      break;
    }
    case fm::v1::Constraint::kJson:
      spec.set_stage("json");
      params["object"].set_bool_value(constraint.json());
      json_like = true;
      break;
    case fm::v1::Constraint::KIND_NOT_SET:
      return absl::InvalidArgumentError(absl::StrCat(
          field,
          " sets no kind (json_schema, regex, grammar, choice or json)"));
  }
  if (constraint.has_max_whitespace()) {
    const int32_t ws = constraint.max_whitespace();
    if (ws < 0 || ws > 64) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".max_whitespace = ", ws, " is outside [0, 64]"));
    }
    if (!json_like) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".max_whitespace applies to json_schema and json only"));
    }
    params["max_whitespace"].set_number_value(ws);
  }
  return spec;
}

}  // namespace fm::gateway
