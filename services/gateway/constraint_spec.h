// ConstraintStageSpec: a request's structured-output constraint as the
// sampler stage that enforces it, the one place where fm.v1.Constraint
// becomes a StageSpec (Generate, Chat and CheckConstraint use it).
#ifndef FM_SERVICES_GATEWAY_CONSTRAINT_SPEC_H_
#define FM_SERVICES_GATEWAY_CONSTRAINT_SPEC_H_

#include "absl/status/statusor.h"
#include "fm/v1/common.pb.h"
#include "fm/v1/gateway.pb.h"

namespace fm::gateway {

// INVALID_ARGUMENT naming `field` when no kind is set or max_whitespace is
// outside [0, 64]; the constraint's own text is checked by the sampler.
absl::StatusOr<fm::v1::StageSpec> ConstraintStageSpec(
    const fm::v1::Constraint& constraint, absl::string_view field);

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_CONSTRAINT_SPEC_H_
