// JSON text <-> template values: messages, tools and extra variables
// arrive as JSON; objects keep their key order.
#ifndef FM_COMMON_JINJA_JSON_VALUE_H_
#define FM_COMMON_JINJA_JSON_VALUE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jinja/value.h"

namespace fm::jinja {

// Deepest JSON nesting accepted.
inline constexpr int kMaxJsonNesting = 64;

// INVALID_ARGUMENT naming `field` when `json` does not parse or nests too
// deeply.
absl::StatusOr<Value> ParseJsonValue(absl::string_view json,
                                     absl::string_view field);

}  // namespace fm::jinja

#endif  // FM_COMMON_JINJA_JSON_VALUE_H_
