// The documented range of every numeric fmctl flag, checked before any
// call. Flags a user may leave out are std::optional, so no value a user can
// type means "not given" (--temperature=-1 is an error, not the default).
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/fmctl/fmctl.h"

ABSL_DECLARE_FLAG(std::optional<double>, temperature);
ABSL_DECLARE_FLAG(std::optional<int>, top_k);
ABSL_DECLARE_FLAG(std::optional<double>, top_p);
ABSL_DECLARE_FLAG(std::optional<double>, min_p);
ABSL_DECLARE_FLAG(std::optional<double>, repetition_penalty);
ABSL_DECLARE_FLAG(std::optional<double>, presence_penalty);
ABSL_DECLARE_FLAG(std::optional<double>, frequency_penalty);
ABSL_DECLARE_FLAG(std::optional<double>, length_penalty);
ABSL_DECLARE_FLAG(std::optional<int>, max_whitespace);
ABSL_DECLARE_FLAG(int, max_tokens);
ABSL_DECLARE_FLAG(int, min_tokens);
ABSL_DECLARE_FLAG(int, n);
ABSL_DECLARE_FLAG(int, top_logprobs);
ABSL_DECLARE_FLAG(int, count);
ABSL_DECLARE_FLAG(int, top);
ABSL_DECLARE_FLAG(int, beam_width);
ABSL_DECLARE_FLAG(int, best_of);
ABSL_DECLARE_FLAG(absl::Duration, timeout);

namespace fm::fmctl {
namespace {

// One flag's value (nullopt: not given) and its interval; an open end
// excludes the bound.
struct NumericFlag {
  const char* name;
  std::optional<double> value;
  double lo;
  double hi;
  bool lo_open = false;
  bool hi_open = false;
};

std::optional<double> Given(const std::optional<double>& v) { return v; }
std::optional<double> Given(const std::optional<int>& v) {
  if (!v.has_value()) return std::nullopt;
  return static_cast<double>(*v);
}

std::string Interval(const NumericFlag& f) {
  auto bound = [](double b) {
    if (std::isinf(b)) return std::string(b < 0 ? "-inf" : "inf");
    // Whole bounds as integers: 100000000, not 1e+08.
    if (b == std::floor(b)) return absl::StrCat(static_cast<int64_t>(b));
    return absl::StrCat(b);
  };
  return absl::StrCat(f.lo_open ? "(" : "[", bound(f.lo), ", ", bound(f.hi),
                      f.hi_open ? ")" : "]");
}

bool Inside(const NumericFlag& f, double v) {
  // Written so that NaN is outside every interval.
  const bool above_lo = f.lo_open ? v > f.lo : v >= f.lo;
  const bool below_hi = f.hi_open ? v < f.hi : v <= f.hi;
  return above_lo && below_hi;
}

}  // namespace

absl::Status CheckNumericFlags() {
  constexpr double kInf = INFINITY;
  // The ranges the services enforce (gateway, sampler), so that a mistyped
  // value fails here with the flag's name instead of after a connection;
  // limits an operator configures (the gateway's --max_n, ...) are left to
  // the service, which names them.
  const std::vector<NumericFlag> flags = {
      {"temperature", Given(absl::GetFlag(FLAGS_temperature)), 0, 2},
      {"top_k", Given(absl::GetFlag(FLAGS_top_k)), 0, kInf},
      {"top_p", Given(absl::GetFlag(FLAGS_top_p)), 0, 1, true},
      {"min_p", Given(absl::GetFlag(FLAGS_min_p)), 0, 1},
      {"repetition_penalty", Given(absl::GetFlag(FLAGS_repetition_penalty)), 0,
       10, true},
      {"presence_penalty", Given(absl::GetFlag(FLAGS_presence_penalty)), -2, 2},
      {"frequency_penalty", Given(absl::GetFlag(FLAGS_frequency_penalty)), -2,
       2},
      {"length_penalty", Given(absl::GetFlag(FLAGS_length_penalty)), 0, 4},
      {"max_whitespace", Given(absl::GetFlag(FLAGS_max_whitespace)), 0, 64},
      {"max_tokens", absl::GetFlag(FLAGS_max_tokens), 0, kInf},
      {"min_tokens", absl::GetFlag(FLAGS_min_tokens), 0, kInf},
      {"n", absl::GetFlag(FLAGS_n), 1, kInf},
      {"top_logprobs", absl::GetFlag(FLAGS_top_logprobs), 0, kInf},
      {"count", absl::GetFlag(FLAGS_count), 1, kMaxSampleCount},
      {"top", absl::GetFlag(FLAGS_top), 1, kInf},
      {"beam_width", absl::GetFlag(FLAGS_beam_width), 0, 8},
      {"best_of", absl::GetFlag(FLAGS_best_of), 0, kInf},
      {"timeout", absl::ToDoubleSeconds(absl::GetFlag(FLAGS_timeout)), 0, kInf,
       true, true},
  };
  for (const NumericFlag& f : flags) {
    if (!f.value.has_value() || Inside(f, *f.value)) continue;
    return absl::InvalidArgumentError(
        absl::StrCat("--", f.name, "=", *f.value, " is outside ", Interval(f)));
  }
  return absl::OkStatus();
}

}  // namespace fm::fmctl
