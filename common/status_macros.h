// FM_RETURN_IF_ERROR and FM_ASSIGN_OR_RETURN: early return on a non-OK
// absl::Status / absl::StatusOr (Abseil 20220623 ships neither).
#ifndef FM_COMMON_STATUS_MACROS_H_
#define FM_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FM_STATUS_MACROS_CONCAT_INNER(x, y) x##y
#define FM_STATUS_MACROS_CONCAT(x, y) FM_STATUS_MACROS_CONCAT_INNER(x, y)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define FM_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::absl::Status fm_status_ = (expr);            \
    if (!fm_status_.ok()) return fm_status_;       \
  } while (0)

// `lhs` = the value of `rexpr` (an absl::StatusOr<T>), or returns its status.
// `lhs` may be a declaration: FM_ASSIGN_OR_RETURN(auto x, MakeX());
#define FM_ASSIGN_OR_RETURN(lhs, rexpr)                                      \
  FM_ASSIGN_OR_RETURN_IMPL(                                                  \
      FM_STATUS_MACROS_CONCAT(fm_statusor_, __LINE__), lhs, rexpr)

#define FM_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                             \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(*statusor)

#endif  // FM_COMMON_STATUS_MACROS_H_
