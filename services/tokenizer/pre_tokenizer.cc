// The pre-tokenizer steps, with Hugging Face's semantics (tokenizers'
// NormalizedString::split for the delimiter behaviors).
#include "services/tokenizer/pre_tokenizer.h"

#include <utility>

#include "absl/strings/match.h"
#include "common/text/byte_level.h"

namespace fm::tokenizer {
namespace {

// GPT-2's split, used by ByteLevel with use_regex.
constexpr char kGpt2Regex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Span {
  size_t begin, end;
  bool is_delimiter;
};

// Splits `word` at `pattern`'s matches by `behavior`, appending the words.
void SplitWord(const text::Regex& pattern, SplitBehavior behavior, bool invert,
               const Word& word, std::vector<Word>* out) {
  std::vector<Span> spans;
  size_t gap = 0;
  for (const auto& [begin, end] : pattern.FindAll(word.text)) {
    if (begin > gap) spans.push_back({gap, begin, invert});
    spans.push_back({begin, end, !invert});
    gap = end;
  }
  if (gap < word.text.size()) spans.push_back({gap, word.text.size(), invert});

  std::vector<Span> merged;
  bool previous_delimiter = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
    case SplitBehavior::kIsolated:
      merged = spans;
      break;
    case SplitBehavior::kContiguous:
      for (const Span& s : spans) {
        if (!merged.empty() && s.is_delimiter && previous_delimiter) {
          merged.back().end = s.end;
        } else {
          merged.push_back(s);
        }
        previous_delimiter = s.is_delimiter;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& s : spans) {
        if (!merged.empty() && s.is_delimiter && !previous_delimiter) {
          merged.back().end = s.end;
        } else {
          merged.push_back(s);
        }
        previous_delimiter = s.is_delimiter;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto s = spans.rbegin(); s != spans.rend(); ++s) {
        if (!merged.empty() && s->is_delimiter && !previous_delimiter) {
          merged.back().begin = s->begin;
        } else {
          merged.push_back(*s);
        }
        previous_delimiter = s->is_delimiter;
      }
      std::reverse(merged.begin(), merged.end());
      break;
  }
  for (const Span& s : merged) {
    if (behavior == SplitBehavior::kRemoved && s.is_delimiter) continue;
    if (s.end <= s.begin) continue;
    out->push_back({word.text.substr(s.begin, s.end - s.begin),
                    word.at_text_start && s.begin == 0});
  }
}

class SplitByPattern final : public PreTokenizerStep {
 public:
  SplitByPattern(std::unique_ptr<text::Regex> pattern, SplitBehavior behavior,
                 bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void Apply(std::vector<Word>* words) const override {
    std::vector<Word> out;
    out.reserve(words->size());
    for (const Word& w : *words) SplitWord(*pattern_, behavior_, invert_, w, &out);
    *words = std::move(out);
  }

 private:
  std::unique_ptr<text::Regex> pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevel final : public PreTokenizerStep {
 public:
  ByteLevel(bool add_prefix_space, std::unique_ptr<text::Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void Apply(std::vector<Word>* words) const override {
    std::vector<Word> split;
    split.reserve(words->size());
    for (Word& w : *words) {
      if (add_prefix_space_ && !absl::StartsWith(w.text, " ")) {
        w.text.insert(0, " ");
      }
      if (regex_ != nullptr) {
        SplitWord(*regex_, SplitBehavior::kIsolated, false, w, &split);
      } else {
        split.push_back(std::move(w));
      }
    }
    for (Word& w : split) w.text = text::BytesToByteLevel(w.text);
    *words = std::move(split);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<text::Regex> regex_;  // null without use_regex
};

class Metaspace final : public PreTokenizerStep {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme) {
    if (split)
      splitter_ = text::Regex::Create(replacement_, /*literal=*/true).value();
  }
  void Apply(std::vector<Word>* words) const override {
    std::vector<Word> out;
    out.reserve(words->size());
    for (Word& w : *words) {
      std::string replaced;
      for (char c : w.text) {
        if (c == ' ') {
          replaced += replacement_;
        } else {
          replaced.push_back(c);
        }
      }
      w.text = std::move(replaced);
      const bool prepend =
          !absl::StartsWith(w.text, replacement_) &&
          (scheme_ == PrependScheme::kAlways ||
           (scheme_ == PrependScheme::kFirst && w.at_text_start));
      if (prepend) w.text.insert(0, replacement_);
      if (splitter_ != nullptr) {
        SplitWord(*splitter_, SplitBehavior::kMergedWithNext, false, w, &out);
      } else {
        out.push_back(std::move(w));
      }
    }
    *words = std::move(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  std::unique_ptr<text::Regex> splitter_;  // null without split
};

}  // namespace

std::unique_ptr<PreTokenizerStep> SplitStep(
    std::unique_ptr<text::Regex> pattern, SplitBehavior behavior, bool invert) {
  return std::make_unique<SplitByPattern>(std::move(pattern), behavior, invert);
}

absl::StatusOr<std::unique_ptr<PreTokenizerStep>> ByteLevelStep(
    bool add_prefix_space, bool use_regex) {
  std::unique_ptr<text::Regex> regex;
  if (use_regex) {
    auto compiled = text::Regex::Create(kGpt2Regex);
    if (!compiled.ok()) return compiled.status();
    regex = *std::move(compiled);
  }
  return std::unique_ptr<PreTokenizerStep>(
      std::make_unique<ByteLevel>(add_prefix_space, std::move(regex)));
}

std::unique_ptr<PreTokenizerStep> MetaspaceStep(std::string replacement,
                                                PrependScheme scheme,
                                                bool split) {
  return std::make_unique<Metaspace>(std::move(replacement), scheme, split);
}

std::vector<Word> PreTokenizer::Split(absl::string_view text,
                                      bool at_text_start) const {
  std::vector<Word> words;
  if (text.empty()) return words;
  words.push_back({std::string(text), at_text_start});
  for (const auto& step : steps_) step->Apply(&words);
  return words;
}

}  // namespace fm::tokenizer
