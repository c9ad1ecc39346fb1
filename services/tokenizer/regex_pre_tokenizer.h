// RegexPreTokenizer: splits text into the words byte-level BPE merges
// within, by a sequence of Unicode-aware regexes (PCRE2 with UTF and
// Unicode properties). Each regex splits every piece the previous one left
// into its matches and the gaps between them, which is llama.cpp's
// unicode_regex_split and Hugging Face's Split pre-tokenizer with behavior
// "Isolated"; the pieces always concatenate to the text.
#ifndef FM_SERVICES_TOKENIZER_REGEX_PRE_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_REGEX_PRE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm::tokenizer {

class RegexPreTokenizer {
 public:
  // INVALID_ARGUMENT naming the pattern and PCRE2's message when one does
  // not compile.
  static absl::StatusOr<std::unique_ptr<RegexPreTokenizer>> Create(
      const std::vector<std::string>& patterns);
  // The regexes of a GGUF tokenizer.ggml.pre name, as the models'
  // tokenizer.json files declare them ("gpt-2", "llama-bpe", "qwen2",
  // "starcoder", "deepseek-llm", "falcon", ...). INVALID_ARGUMENT naming an
  // unknown one.
  static absl::StatusOr<std::unique_ptr<RegexPreTokenizer>> ForGgufPre(
      absl::string_view pre);

  ~RegexPreTokenizer();
  RegexPreTokenizer(const RegexPreTokenizer&) = delete;
  RegexPreTokenizer& operator=(const RegexPreTokenizer&) = delete;

  // The pieces of valid UTF-8 `text`, in order. Thread-safe.
  std::vector<absl::string_view> Split(absl::string_view text) const;

  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  RegexPreTokenizer() = default;

  std::vector<std::string> patterns_;
  std::vector<void*> codes_;  // pcre2_code_8*, one per pattern
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_REGEX_PRE_TOKENIZER_H_
