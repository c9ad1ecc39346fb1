// NumberRangeRegex: a range over signed decimals splits into the numbers
// written without '-' (magnitudes from the lower bound or 0) and those
// written with it (magnitudes up to the lower bound's); a range of
// magnitudes into its integer parts (a digit-wise integer range) and, at
// the two end integers, a range of fractions compared digit by digit.
#include "common/constraint/decimal_range.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fm::constraint {
namespace {

// An optional zero fraction (".0", ".00", ...) of at most kMaxTrailingZeros.
std::string ZeroFraction() {
  return absl::StrCat("(?:\\.0{1,", kMaxTrailingZeros, "})?");
}

using Regex = std::optional<std::string>;

std::string Digits(char lo, char hi) {
  if (lo == hi) return std::string(1, lo);
  if (lo == '0' && hi == '9') return "[0-9]";
  return absl::StrCat("[", std::string(1, lo), "-", std::string(1, hi), "]");
}

std::string AnyDigits(size_t n) {
  if (n == 0) return "";
  if (n == 1) return "[0-9]";
  return absl::StrCat("[0-9]{", n, "}");
}

Regex Alternatives(const std::vector<std::string>& alts) {
  if (alts.empty()) return std::nullopt;
  if (alts.size() == 1) return alts[0];
  return absl::StrCat("(?:", absl::StrJoin(alts, "|"), ")");
}

bool AllOf(absl::string_view s, char c) {
  return std::all_of(s.begin(), s.end(), [c](char d) { return d == c; });
}

// Digit strings (no sign, no leading zeros) plus or minus one.
std::string Increment(std::string s) {
  int i = static_cast<int>(s.size()) - 1;
  while (i >= 0 && s[i] == '9') s[i--] = '0';
  if (i < 0) return "1" + s;
  ++s[i];
  return s;
}
std::string Decrement(std::string s) {  // s > 0
  int i = static_cast<int>(s.size()) - 1;
  while (s[i] == '0') s[i--] = '9';
  --s[i];
  if (s.size() > 1 && s[0] == '0') s.erase(0, 1);
  return s;
}
int CompareDigits(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a < b ? -1 : (a == b ? 0 : 1);
}

// Strings of a's length from a to b (a <= b, equal lengths).
std::string SameLength(absl::string_view a, absl::string_view b) {
  if (a.empty()) return "";
  if (a == b) return std::string(a);
  if (a[0] == b[0]) {
    return absl::StrCat(a.substr(0, 1), SameLength(a.substr(1), b.substr(1)));
  }
  const size_t n = a.size() - 1;
  const bool low_full = AllOf(a.substr(1), '0');
  const bool high_full = AllOf(b.substr(1), '9');
  std::vector<std::string> alts;
  char mid_lo = a[0], mid_hi = b[0];
  if (!low_full) {
    alts.push_back(absl::StrCat(a.substr(0, 1),
                                SameLength(a.substr(1), std::string(n, '9'))));
    ++mid_lo;
  }
  if (mid_lo <= (high_full ? mid_hi : mid_hi - 1)) {
    alts.push_back(absl::StrCat(Digits(mid_lo, high_full ? mid_hi : mid_hi - 1),
                                AnyDigits(n)));
  }
  if (!high_full) {
    alts.push_back(absl::StrCat(b.substr(0, 1),
                                SameLength(std::string(n, '0'), b.substr(1))));
  }
  return *Alternatives(alts);
}

// Integers from a to b (nullopt: unbounded), written without leading
// zeros; a <= b.
std::string IntegerRange(const std::string& a,
                         const std::optional<std::string>& b) {
  if (b && a.size() == b->size()) return SameLength(a, *b);
  std::vector<std::string> alts = {SameLength(a, std::string(a.size(), '9'))};
  if (!b) {
    alts.push_back(absl::StrCat("[1-9][0-9]{", a.size(), ",}"));
  } else {
    if (b->size() >= a.size() + 2) {
      alts.push_back(
          absl::StrCat("[1-9][0-9]{", a.size(), ",", b->size() - 2, "}"));
    }
    alts.push_back(
        SameLength(absl::StrCat("1", std::string(b->size() - 1, '0')), *b));
  }
  return *Alternatives(alts);
}

// Fraction digit strings d (empty allowed unless `nonempty`), read as
// 0.d, compared with 0.a (a without trailing zeros).
Regex AtLeast(absl::string_view a, bool strict, bool nonempty) {
  if (a.empty()) {
    if (strict) return "[0-9]*[1-9][0-9]*";
    return nonempty ? "[0-9]+" : "[0-9]*";
  }
  std::vector<std::string> alts;
  if (a[0] < '9') alts.push_back(Digits(a[0] + 1, '9') + "[0-9]*");
  if (Regex rest = AtLeast(a.substr(1), strict, false)) {
    alts.push_back(absl::StrCat(a.substr(0, 1), *rest));
  }
  return Alternatives(alts);
}

Regex AtMost(absl::string_view b, bool strict, bool nonempty) {
  if (b.empty()) {
    if (strict) return std::nullopt;
    return nonempty ? "0+" : "0*";
  }
  std::vector<std::string> alts;
  if (!nonempty) alts.push_back("");  // 0 < 0.b
  if (b[0] > '0') alts.push_back(Digits('0', b[0] - 1) + "[0-9]*");
  if (Regex rest = AtMost(b.substr(1), strict, false)) {
    alts.push_back(absl::StrCat(b.substr(0, 1), *rest));
  }
  return Alternatives(alts);
}

Regex Between(absl::string_view a, bool sa, absl::string_view b, bool sb,
              bool nonempty) {
  if (a.empty() && !sa) return AtMost(b, sb, nonempty);
  if (b.empty()) return std::nullopt;  // the value must be 0, below a
  const char a0 = a.empty() ? '0' : a[0];
  const absl::string_view a_rest = a.empty() ? "" : a.substr(1);
  std::vector<std::string> alts;
  if (a0 == b[0]) {
    if (Regex rest = Between(a_rest, sa, b.substr(1), sb, false)) {
      alts.push_back(absl::StrCat(std::string(1, a0), *rest));
    }
    return Alternatives(alts);
  }
  if (Regex rest = AtLeast(a_rest, sa, false)) {
    alts.push_back(absl::StrCat(std::string(1, a0), *rest));
  }
  if (a0 + 1 <= b[0] - 1) alts.push_back(Digits(a0 + 1, b[0] - 1) + "[0-9]*");
  if (Regex rest = AtMost(b.substr(1), sb, false)) {
    alts.push_back(absl::StrCat(b.substr(0, 1), *rest));
  }
  return Alternatives(alts);
}

struct FractionBound {
  std::string digits;
  bool exclusive = false;
};

// The optional ".digits" part for fractions within the bounds; nullopt
// when none is.
Regex FractionPart(const std::optional<FractionBound>& lo,
                   const std::optional<FractionBound>& hi) {
  const bool zero_ok = (!lo || (lo->digits.empty() && !lo->exclusive)) &&
                       (!hi || !hi->digits.empty() || !hi->exclusive);
  Regex digits;
  if (lo && hi) {
    digits =
        Between(lo->digits, lo->exclusive, hi->digits, hi->exclusive, true);
  } else if (lo) {
    digits = AtLeast(lo->digits, lo->exclusive, true);
  } else if (hi) {
    digits = AtMost(hi->digits, hi->exclusive, true);
  } else {
    digits = "[0-9]+";
  }
  if (!digits) return zero_ok ? Regex("") : std::nullopt;
  return zero_ok ? absl::StrCat("(?:\\.", *digits, ")?")
                 : absl::StrCat("\\.", *digits);
}

// Magnitudes (numbers written without a sign) from `lo` up to `hi`
// (nullopt: unbounded).
Regex Magnitudes(const DecimalBound& lo, const std::optional<DecimalBound>& hi,
                 bool integer_only) {
  if (hi) {
    const int c = Compare(lo.value, hi->value);
    if (c > 0 || (c == 0 && (lo.exclusive || hi->exclusive))) {
      return std::nullopt;
    }
  }
  if (integer_only) {
    // The integers within: from ceil (or floor + 1) to floor (or ceil - 1).
    const Decimal& l = lo.value;
    std::string first = l.integer;
    if (!l.IsInteger() || lo.exclusive) first = Increment(first);
    std::optional<std::string> last;
    if (hi) {
      const Decimal& h = hi->value;
      std::string top = h.integer;
      if (hi->exclusive && h.IsInteger()) {
        if (top == "0") return std::nullopt;
        top = Decrement(top);
      }
      if (CompareDigits(first, top) > 0) return std::nullopt;
      last = top;
    }
    return absl::StrCat(IntegerRange(first, last), ZeroFraction());
  }
  const std::string& li = lo.value.integer;
  const FractionBound lo_fraction{lo.value.fraction, lo.exclusive};
  std::vector<std::string> alts;
  if (!hi) {
    if (Regex f = FractionPart(lo_fraction, std::nullopt)) {
      alts.push_back(li + *f);
    }
    alts.push_back(absl::StrCat(IntegerRange(Increment(li), std::nullopt),
                                "(?:\\.[0-9]+)?"));
    return Alternatives(alts);
  }
  const std::string& hi_int = hi->value.integer;
  const FractionBound hi_fraction{hi->value.fraction, hi->exclusive};
  if (li == hi_int) {
    if (Regex f = FractionPart(lo_fraction, hi_fraction)) {
      alts.push_back(li + *f);
    }
    return Alternatives(alts);
  }
  if (Regex f = FractionPart(lo_fraction, std::nullopt)) {
    alts.push_back(li + *f);
  }
  const std::string next = Increment(li);
  if (CompareDigits(next, hi_int) < 0) {
    alts.push_back(
        absl::StrCat(IntegerRange(next, Decrement(hi_int)), "(?:\\.[0-9]+)?"));
  }
  if (Regex f = FractionPart(std::nullopt, hi_fraction)) {
    alts.push_back(hi_int + *f);
  }
  return Alternatives(alts);
}

}  // namespace

absl::StatusOr<Decimal> Decimal::Parse(absl::string_view text,
                                       int32_t max_digits) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a JSON number"));
  };
  size_t i = 0;
  Decimal d;
  const bool negative = i < text.size() && text[i] == '-';
  if (negative) ++i;
  std::string digits;
  size_t integer_digits = 0;
  while (i < text.size() && absl::ascii_isdigit(text[i])) {
    digits += text[i++];
    ++integer_digits;
  }
  if (integer_digits == 0) return bad();
  if (i < text.size() && text[i] == '.') {
    ++i;
    const size_t start = digits.size();
    while (i < text.size() && absl::ascii_isdigit(text[i])) digits += text[i++];
    if (digits.size() == start) return bad();
  }
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool minus = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      minus = text[i++] == '-';
    }
    if (i == text.size()) return bad();
    while (i < text.size() && absl::ascii_isdigit(text[i])) {
      exponent = std::min<int64_t>(exponent * 10 + (text[i++] - '0'), 1 << 30);
    }
    if (minus) exponent = -exponent;
  }
  if (i != text.size()) return bad();
  // The point sits after `point` digits (may be outside the digits).
  const int64_t point = static_cast<int64_t>(integer_digits) + exponent;
  const int64_t written =
      std::max<int64_t>(point, digits.size()) - std::min<int64_t>(point, 0);
  if (written > max_digits) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the number ", text, " has more than ", max_digits,
                     " digits written out (the limit)"));
  }
  std::string integer, fraction;
  if (point <= 0) {
    fraction = std::string(-point, '0') + digits;
  } else if (point >= static_cast<int64_t>(digits.size())) {
    integer = digits + std::string(point - digits.size(), '0');
  } else {
    integer = digits.substr(0, point);
    fraction = digits.substr(point);
  }
  integer.erase(0, std::min(integer.find_first_not_of('0'), integer.size()));
  if (integer.empty()) integer = "0";
  const size_t last = fraction.find_last_not_of('0');
  fraction.erase(last == std::string::npos ? 0 : last + 1);
  d.integer = std::move(integer);
  d.fraction = std::move(fraction);
  d.negative = negative && !d.IsZero();
  return d;
}

Decimal Decimal::Magnitude() const {
  Decimal d = *this;
  d.negative = false;
  return d;
}

std::string Decimal::ToString() const {
  return absl::StrCat(negative ? "-" : "", integer, fraction.empty() ? "" : ".",
                      fraction);
}

int Compare(const Decimal& a, const Decimal& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int c = CompareDigits(a.integer, b.integer);
  if (c == 0)
    c = a.fraction < b.fraction ? -1 : (a.fraction == b.fraction ? 0 : 1);
  return a.negative ? -c : c;
}

std::optional<std::string> NumberRangeRegex(
    const std::optional<DecimalBound>& lower,
    const std::optional<DecimalBound>& upper, bool integer_only) {
  if (!lower && !upper) {
    return integer_only
               ? absl::StrCat("-?(?:0|[1-9][0-9]*)", ZeroFraction(),
                              "(?:[eE]\\+?[0-9]+)?")
               : "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?";
  }
  std::vector<std::string> alts;
  // Written without '-': x >= 0.
  const bool upper_below_zero =
      upper &&
      (upper->value.negative || (upper->value.IsZero() && upper->exclusive));
  if (!upper_below_zero) {
    DecimalBound lo;  // 0, inclusive
    if (lower && !lower->value.negative) lo = *lower;
    if (Regex r = Magnitudes(lo, upper, integer_only)) alts.push_back(*r);
  }
  // Written with '-': x <= 0, as the magnitude -x.
  const bool lower_above_zero = lower && !lower->value.negative &&
                                (!lower->value.IsZero() || lower->exclusive);
  if (!lower_above_zero) {
    DecimalBound lo;  // magnitude 0, inclusive
    if (upper && upper->value.negative) {
      lo = {upper->value.Magnitude(), upper->exclusive};
    } else if (upper && upper->value.IsZero() && upper->exclusive) {
      lo.exclusive = true;
    }
    std::optional<DecimalBound> hi;
    if (lower) hi = DecimalBound{lower->value.Magnitude(), lower->exclusive};
    if (Regex r = Magnitudes(lo, hi, integer_only)) alts.push_back("-" + *r);
  }
  return Alternatives(alts);
}

std::string NumberValueRegex(const Decimal& value) {
  if (value.IsZero()) return absl::StrCat("-?0", ZeroFraction());
  return absl::StrCat(value.negative ? "-" : "", value.integer,
                      value.IsInteger()
                          ? ZeroFraction()
                          : absl::StrCat("\\.", value.fraction, "0{0,",
                                         kMaxTrailingZeros, "}"));
}

}  // namespace fm::constraint
