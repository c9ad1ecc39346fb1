// JsonNestingDepth: how deeply a JSON text nests arrays and objects,
// counted on the bytes before any parser builds anything, so a hostile
// "[[[[..." is refused cheaply whatever parser follows.
#ifndef FM_COMMON_JSON_NESTING_H_
#define FM_COMMON_JSON_NESTING_H_

#include "absl/strings/string_view.h"

namespace fm {

// The deepest [ / { nesting outside strings (0 for a scalar).
int JsonNestingDepth(absl::string_view text);

}  // namespace fm

#endif  // FM_COMMON_JSON_NESTING_H_
