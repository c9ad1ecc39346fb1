// Regex: one compiled PCRE2 pattern (UTF, Unicode properties), the engine
// behind the pre-tokenizers' Split steps and the normalizers' Replace.
// Unicode-aware through the library, never through hand-written tables.
#ifndef FM_SERVICES_TOKENIZER_REGEX_H_
#define FM_SERVICES_TOKENIZER_REGEX_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm::tokenizer {

class Regex {
 public:
  // `literal`: the pattern is a plain string, matched as is. INVALID_ARGUMENT
  // naming the pattern, the offset and PCRE2's message when it does not
  // compile.
  static absl::StatusOr<std::unique_ptr<Regex>> Create(absl::string_view pattern,
                                                       bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The non-empty matches in valid UTF-8 `text`, left to right and not
  // overlapping, as [begin, end) byte offsets. Thread-safe.
  std::vector<std::pair<size_t, size_t>> FindAll(absl::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;

  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_REGEX_H_
