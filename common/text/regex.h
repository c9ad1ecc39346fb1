// Regex: one compiled PCRE2 pattern (UTF, Unicode properties), the engine
// behind the tokenizer's pre-tokenizer Split steps and normalizer Replace,
// and the gateway's answer extraction. Unicode-aware through the library,
// never through hand-written tables.
#ifndef FM_COMMON_TEXT_REGEX_H_
#define FM_COMMON_TEXT_REGEX_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm::text {

class Regex {
 public:
  // `literal`: the pattern is a plain string, matched as is. INVALID_ARGUMENT
  // naming the pattern, the offset and PCRE2's message when it does not
  // compile.
  static absl::StatusOr<std::unique_ptr<Regex>> Create(
      absl::string_view pattern, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The non-empty matches in valid UTF-8 `text`, left to right and not
  // overlapping, as [begin, end) byte offsets. Thread-safe.
  std::vector<std::pair<size_t, size_t>> FindAll(absl::string_view text) const;

  // The first match in valid UTF-8 `text`: its first capture group when
  // the pattern has one (nullopt if that group took no part), else the
  // whole match; nullopt without a match. Bounded: a match that outgrows
  // PCRE2's match limit counts as none. Thread-safe.
  std::optional<std::string> FirstMatch(absl::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;

  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

}  // namespace fm::text

#endif  // FM_COMMON_TEXT_REGEX_H_
