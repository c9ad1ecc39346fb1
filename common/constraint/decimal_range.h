// Decimal ranges as regular expressions: the JSON numbers a schema's
// minimum / maximum / exclusiveMinimum / exclusiveMaximum (and `integer`)
// allow, written digit by digit so that the bound is exact for any
// decimal (no floating-point rounding: 0.1 is 0.1).
#ifndef FM_COMMON_CONSTRAINT_DECIMAL_RANGE_H_
#define FM_COMMON_CONSTRAINT_DECIMAL_RANGE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm::constraint {

// A decimal number: sign, integer digits (no leading zeros; "0" for none)
// and fraction digits (no trailing zeros). Zero is never negative.
struct Decimal {
  bool negative = false;
  std::string integer = "0";
  std::string fraction;

  // A JSON number's text ("-1.25e3"). RESOURCE_EXHAUSTED when it would
  // take more than `max_digits` digits written out.
  static absl::StatusOr<Decimal> Parse(absl::string_view json_number,
                                       int32_t max_digits = 1000);
  bool IsZero() const { return integer == "0" && fraction.empty(); }
  bool IsInteger() const { return fraction.empty(); }
  Decimal Magnitude() const;
  std::string ToString() const;
};

// -1, 0 or 1 as a < b, a == b, a > b (numerically).
int Compare(const Decimal& a, const Decimal& b);

struct DecimalBound {
  Decimal value;
  bool exclusive = false;
};

// Trailing zeros a number's fraction may carry where they add nothing (an
// integer's ".0", a constant's "1.50"): bounded, as a model adding zeros
// need never end; no serializer writes more.
inline constexpr int kMaxTrailingZeros = 16;

// An ECMAScript regex (ASCII) matching the JSON numbers within the bounds
// (each optional). `integer_only` matches integers only (written plainly
// or with a zero fraction, "3.0", as JSON Schema counts 3.0 an integer).
// Without bounds: every JSON number (exponents included; for integers, a
// non-negative exponent after an integer mantissa); with a bound numbers
// are matched as written without an exponent (narrower, never wider).
// nullopt when no number is within the bounds.
std::optional<std::string> NumberRangeRegex(
    const std::optional<DecimalBound>& lower,
    const std::optional<DecimalBound>& upper, bool integer_only);

// The spellings of one number: `value` with up to kMaxTrailingZeros
// trailing fraction zeros ("1.5", "1.50"; "2", "2.0"; zero also as "-0").
std::string NumberValueRegex(const Decimal& value);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_DECIMAL_RANGE_H_
