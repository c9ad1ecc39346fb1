// Normalizer: Hugging Face's normalizers (tokenizer.json "normalizer") as
// a list of steps applied in order to each stretch of text between added
// tokens: Unicode normalization forms, Replace, Prepend, Lowercase, Strip.
#ifndef FM_SERVICES_TOKENIZER_NORMALIZER_H_
#define FM_SERVICES_TOKENIZER_NORMALIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/text/regex.h"
#include "services/tokenizer/unicode.h"

namespace fm::tokenizer {

class NormalizerStep {
 public:
  virtual ~NormalizerStep() = default;
  // Rewrites valid UTF-8 `*text`, keeping it valid UTF-8.
  virtual void Apply(std::string* text) const = 0;
};

std::unique_ptr<NormalizerStep> UnicodeFormStep(NormalizationForm form);
// Every match of `pattern` becomes `content`.
std::unique_ptr<NormalizerStep> ReplaceStep(
    std::unique_ptr<text::Regex> pattern, std::string content);
// `prefix` before any non-empty text.
std::unique_ptr<NormalizerStep> PrependStep(std::string prefix);
std::unique_ptr<NormalizerStep> LowercaseStep();
// Leading and/or trailing Unicode whitespace removed.
std::unique_ptr<NormalizerStep> StripStep(bool left, bool right);

class Normalizer {
 public:
  explicit Normalizer(std::vector<std::unique_ptr<NormalizerStep>> steps)
      : steps_(std::move(steps)) {}

  std::string Normalize(absl::string_view text) const {
    std::string out(text);
    for (const auto& step : steps_) step->Apply(&out);
    return out;
  }

 private:
  std::vector<std::unique_ptr<NormalizerStep>> steps_;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_NORMALIZER_H_
