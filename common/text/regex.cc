// Regex over PCRE2: JIT-compiled, falling back to the interpreter when a
// match outgrows the JIT stack.
#include "common/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace fm::text {
namespace {

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }

}  // namespace

absl::StatusOr<std::unique_ptr<Regex>> Regex::Create(absl::string_view pattern,
                                                     bool literal) {
  std::unique_ptr<Regex> regex(new Regex());
  regex->pattern_ = std::string(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
      // A literal UTF-8 string matches only at character boundaries, so it
      // needs (and PCRE2 allows) no UTF mode.
      literal ? PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP, &error, &offset,
      nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return absl::InvalidArgumentError(absl::StrCat(
        "regex '", pattern.substr(0, 200), "' does not compile at offset ",
        offset, ": ", reinterpret_cast<const char*>(message)));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort
  regex->code_ = code;
  return regex;
}

Regex::~Regex() { pcre2_code_free(Code(code_)); }

std::vector<std::pair<size_t, size_t>> Regex::FindAll(
    absl::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  if (text.empty()) return matches;
  pcre2_match_data* match =
      pcre2_match_data_create_from_pattern(Code(code_), nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t search = 0;
  while (search < text.size()) {
    int rc = pcre2_match(Code(code_), subject, text.size(), search,
                         PCRE2_NO_UTF_CHECK, match, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(Code(code_), subject, text.size(), search,
                       PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, nullptr);
    }
    if (rc < 0) break;  // no (further) match
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
    const size_t start = ov[0], end = ov[1];
    if (end <= start) {  // an empty match splits nothing: look further
      if (start >= text.size()) break;
      search =
          start + Utf8SequenceLength(static_cast<unsigned char>(text[start]));
      continue;
    }
    matches.emplace_back(start, end);
    search = end;
  }
  pcre2_match_data_free(match);
  return matches;
}

std::optional<std::string> Regex::FirstMatch(absl::string_view text) const {
  pcre2_match_data* match =
      pcre2_match_data_create_from_pattern(Code(code_), nullptr);
  // Bounds the work a hostile pattern can make of a long text.
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context, 1000000);
  pcre2_set_depth_limit(context, 10000);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = pcre2_match(Code(code_), subject, text.size(), 0, PCRE2_NO_UTF_CHECK,
                       match, context);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    rc = pcre2_match(Code(code_), subject, text.size(), 0,
                     PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, context);
  }
  std::optional<std::string> out;
  if (rc > 0) {
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
    const int group = rc > 1 ? 1 : 0;
    if (ov[2 * group] != PCRE2_UNSET) {
      out = std::string(
          text.substr(ov[2 * group], ov[2 * group + 1] - ov[2 * group]));
    }
  }
  pcre2_match_context_free(context);
  pcre2_match_data_free(match);
  return out;
}

}  // namespace fm::text
