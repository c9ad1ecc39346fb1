// The normalizer steps.
#include "services/tokenizer/normalizer.h"

#include <utility>

namespace fm::tokenizer {
namespace {

class UnicodeForm final : public NormalizerStep {
 public:
  explicit UnicodeForm(NormalizationForm form) : form_(form) {}
  void Apply(std::string* text) const override {
    *text = tokenizer::Normalize(*text, form_);
  }

 private:
  NormalizationForm form_;
};

class Replace final : public NormalizerStep {
 public:
  Replace(std::unique_ptr<text::Regex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Apply(std::string* text) const override {
    const auto matches = pattern_->FindAll(*text);
    if (matches.empty()) return;
    std::string out;
    out.reserve(text->size());
    size_t gap = 0;
    for (const auto& [begin, end] : matches) {
      out.append(*text, gap, begin - gap);
      out.append(content_);
      gap = end;
    }
    out.append(*text, gap, std::string::npos);
    *text = std::move(out);
  }

 private:
  std::unique_ptr<text::Regex> pattern_;
  std::string content_;
};

class Prepend final : public NormalizerStep {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void Apply(std::string* text) const override {
    if (!text->empty()) text->insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Lower final : public NormalizerStep {
 public:
  void Apply(std::string* text) const override { *text = Lowercase(*text); }
};

class Strip final : public NormalizerStep {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void Apply(std::string* text) const override {
    size_t begin = left_ ? SkipWhitespaceForward(*text, 0) : 0;
    size_t end = right_ ? SkipWhitespaceBackward(*text, begin, text->size()) : text->size();
    *text = text->substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

}  // namespace

std::unique_ptr<NormalizerStep> UnicodeFormStep(NormalizationForm form) {
  return std::make_unique<UnicodeForm>(form);
}
std::unique_ptr<NormalizerStep> ReplaceStep(
    std::unique_ptr<text::Regex> pattern, std::string content) {
  return std::make_unique<Replace>(std::move(pattern), std::move(content));
}
std::unique_ptr<NormalizerStep> PrependStep(std::string prefix) {
  return std::make_unique<Prepend>(std::move(prefix));
}
std::unique_ptr<NormalizerStep> LowercaseStep() {
  return std::make_unique<Lower>();
}
std::unique_ptr<NormalizerStep> StripStep(bool left, bool right) {
  return std::make_unique<Strip>(left, right);
}

}  // namespace fm::tokenizer
