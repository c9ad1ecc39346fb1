// PreTokenizer: splits normalized text into the words a BPE model merges
// within. Hugging Face's pre-tokenizers (tokenizer.json "pre_tokenizer")
// as a list of steps, each splitting (and possibly rewriting) every word
// the step before left: Split by a regex or string with its delimiter
// behavior, ByteLevel (GPT-2's alphabet), Metaspace ("▁" for spaces),
// Digits, Whitespace, WhitespaceSplit. llama.cpp's tokenizer.ggml.pre
// presets are Split steps followed by ByteLevel (gguf_pre_tokenizers.h).
#ifndef FM_SERVICES_TOKENIZER_PRE_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_PRE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/regex.h"

namespace fm::tokenizer {

struct Word {
  std::string text;
  // The word starts where the whole input text starts (Metaspace's
  // prepend_scheme "first" prepends only there).
  bool at_text_start = false;
};

// What a Split step does with the delimiters it matches (Hugging Face's
// SplitDelimiterBehavior).
enum class SplitBehavior {
  kRemoved,             // dropped
  kIsolated,            // a word of their own
  kMergedWithPrevious,  // appended to the word before
  kMergedWithNext,      // prepended to the word after
  kContiguous,          // consecutive delimiters form one word
};

enum class PrependScheme { kAlways, kFirst, kNever };

class PreTokenizerStep {
 public:
  virtual ~PreTokenizerStep() = default;
  virtual void Apply(std::vector<Word>* words) const = 0;
};

// `invert`: the matches are the words and the gaps the delimiters.
std::unique_ptr<PreTokenizerStep> SplitStep(
    std::unique_ptr<text::Regex> pattern, SplitBehavior behavior, bool invert);
// Each word written in GPT-2's byte-level alphabet; `add_prefix_space`
// puts a space before each word that lacks one, `use_regex` splits by
// GPT-2's own regex first.
absl::StatusOr<std::unique_ptr<PreTokenizerStep>> ByteLevelStep(
    bool add_prefix_space, bool use_regex);
// Spaces become `replacement`, which is prepended per `scheme` and, with
// `split`, starts each new word.
std::unique_ptr<PreTokenizerStep> MetaspaceStep(std::string replacement,
                                                PrependScheme scheme,
                                                bool split);

class PreTokenizer {
 public:
  explicit PreTokenizer(std::vector<std::unique_ptr<PreTokenizerStep>> steps)
      : steps_(std::move(steps)) {}

  // The non-empty words of valid UTF-8 `text`.
  std::vector<Word> Split(absl::string_view text, bool at_text_start) const;

 private:
  std::vector<std::unique_ptr<PreTokenizerStep>> steps_;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_PRE_TOKENIZER_H_
