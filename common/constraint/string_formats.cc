// The format grammars, each transcribed from its RFC's ABNF.
#include "common/constraint/string_formats.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fm::constraint {
namespace {

// RFC 3339 full-date: each month's days; February 29th in leap years
// (divisible by 4, and by 400 when a century). Years from 0001: RFC 3339
// allows 0000, but common validators (Python's datetime among them) do
// not, and a generated date should pass the user's validator too.
std::string DateRegex() {
  const std::string month_day =
      "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
      "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
      "|02-(?:0[1-9]|1[0-9]|2[0-8]))";
  const std::string year =
      "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])";
  const std::string leap_year =
      "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])"
      "|(?:0[48]|[2468][048]|[13579][26])00)";
  return absl::StrCat("(?:", year, "-", month_day, "|", leap_year, "-02-29)");
}

std::string TwoDigits(int n) { return absl::StrFormat("%02d", n); }

// RFC 3339 full-time. A leap second (:60) only where it can be one, in the
// last minute of a UTC day: local time 23:59 + offset, which ties each local
// hour and minute to exactly one positive and one negative offset.
std::string TimeRegex() {
  const std::string fraction = "(?:\\.[0-9]+)?";
  const std::string offset = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
  std::string leap;
  constexpr int kDay = 24 * 60;
  for (int local = 0; local < kDay; ++local) {
    const int ahead = (local + 1) % kDay;  // local - 23:59, as "+hh:mm"
    const int behind = kDay - 1 - local;   // 23:59 - local, as "-hh:mm"
    absl::StrAppend(&leap, "|", TwoDigits(local / 60), ":",
                    TwoDigits(local % 60), ":60", fraction, "(?:\\+",
                    TwoDigits(ahead / 60), ":", TwoDigits(ahead % 60), "|-",
                    TwoDigits(behind / 60), ":", TwoDigits(behind % 60),
                    local == kDay - 1 ? "|[Zz])" : ")");
  }
  return absl::StrCat("(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]", fraction,
                      offset, leap, ")");
}

std::string Ipv4Regex() {
  const std::string octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
  return absl::StrCat(octet, "(?:\\.", octet, "){3}");
}

// RFC 3986 IPv6address, alternative by alternative.
std::string Ipv6Regex() {
  const std::string h16 = "[0-9A-Fa-f]{1,4}";
  const std::string ls32 =
      absl::StrCat("(?:", h16, ":", h16, "|", Ipv4Regex(), ")");
  auto upto = [&](int n) {  // [ *n( h16 ":" ) h16 ]
    return absl::StrCat("(?:(?:", h16, ":){0,", n, "}", h16, ")?");
  };
  auto times = [&](int n) { return absl::StrCat("(?:", h16, ":){", n, "}"); };
  return absl::StrCat("(?:", times(6), ls32,                //
                      "|::", times(5), ls32,                //
                      "|(?:", h16, ")?::", times(4), ls32,  //
                      "|", upto(1), "::", times(3), ls32,   //
                      "|", upto(2), "::", times(2), ls32,   //
                      "|", upto(3), "::", h16, ":", ls32,   //
                      "|", upto(4), "::", ls32,             //
                      "|", upto(5), "::", h16,              //
                      "|", upto(6), "::)");
}

// RFC 3986 URI (absolute, with an optional fragment).
std::string UriRegex() {
  const std::string pct = "%[0-9A-Fa-f]{2}";
  const std::string unreserved_sub = "A-Za-z0-9\\-._~!$&'()*+,;=";
  const std::string pchar =
      absl::StrCat("(?:[", unreserved_sub, ":@]|", pct, ")");
  const std::string userinfo =
      absl::StrCat("(?:[", unreserved_sub, ":]|", pct, ")*");
  const std::string ip_literal = absl::StrCat(
      "\\[(?:", Ipv6Regex(), "|v[0-9A-Fa-f]+\\.[", unreserved_sub, ":]+)\\]");
  const std::string reg_name =
      absl::StrCat("(?:[", unreserved_sub, "]|", pct, ")*");
  const std::string host = absl::StrCat("(?:", ip_literal, "|", reg_name, ")");
  const std::string abempty = absl::StrCat("(?:/", pchar, "*)*");
  const std::string hier = absl::StrCat("(?://(?:", userinfo, "@)?", host,
                                        "(?::[0-9]*)?", abempty,             //
                                        "|/(?:", pchar, "+", abempty, ")?",  //
                                        "|", pchar, "+", abempty, "|)");
  const std::string tail = absl::StrCat("(?:", pchar, "|[/?])*");
  return absl::StrCat("[A-Za-z][A-Za-z0-9+.\\-]*:", hier, "(?:\\?", tail,
                      ")?(?:#", tail, ")?");
}

// RFC 5321 Mailbox: a Dot-string or Quoted-string, "@", and a Domain or an
// IPv4 or IPv6 address literal (general address literals need a tag
// registered with IANA, of which there is none).
std::string EmailRegex() {
  const std::string atext = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]+";
  const std::string quoted = "\"(?:[ !#-\\[\\]-~]|\\\\[ -~])*\"";
  const std::string label = "[A-Za-z0-9](?:[A-Za-z0-9\\-]*[A-Za-z0-9])?";
  return absl::StrCat("(?:", atext, "(?:\\.", atext, ")*|", quoted,
                      ")@(?:", label, "(?:\\.", label, ")*|\\[(?:", Ipv4Regex(),
                      "|[Ii][Pp][Vv]6:", Ipv6Regex(), ")\\])");
}

}  // namespace

std::optional<std::string> StringFormatRegex(absl::string_view format) {
  if (format == "date") return DateRegex();
  if (format == "time") return TimeRegex();
  if (format == "date-time") {
    return absl::StrCat(DateRegex(), "[Tt]", TimeRegex());
  }
  if (format == "email") return EmailRegex();
  if (format == "ipv4") return Ipv4Regex();
  if (format == "ipv6") return Ipv6Regex();
  if (format == "uuid") {
    return "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
           "[0-9A-Fa-f]{12}";
  }
  if (format == "uri") return UriRegex();
  return std::nullopt;
}

}  // namespace fm::constraint
