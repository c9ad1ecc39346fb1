// StringFormatRegex: JSON Schema's `format` values as regular expressions
// over the string's characters, exact where the format's grammar is
// regular (RFC 3339 dates with the days of each month and leap years;
// RFC 4122 UUIDs; RFC 3986 URIs) and a sound subset where it is not
// (e-mail: RFC 5321 dot-atom local parts at a host name or an IPv4
// literal, no quoted local parts; a leap second only at 23:59:60 UTC).
#ifndef FM_COMMON_CONSTRAINT_STRING_FORMATS_H_
#define FM_COMMON_CONSTRAINT_STRING_FORMATS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace fm::constraint {

// The formats StringFormatRegex knows.
inline constexpr absl::string_view kStringFormats[] = {
    "date", "time", "date-time", "email", "ipv4", "ipv6", "uuid", "uri"};

// The regex (whole-match, ECMAScript syntax) of `format`, or nullopt for a
// format fmserve does not know (one not in kStringFormats).
std::optional<std::string> StringFormatRegex(absl::string_view format);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_STRING_FORMATS_H_
