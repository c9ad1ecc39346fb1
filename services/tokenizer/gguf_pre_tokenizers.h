// The pre-tokenizers llama.cpp names in GGUF tokenizer.ggml.pre ("gpt-2",
// "llama-bpe", "qwen2", "starcoder", "deepseek-llm", "falcon", ...): the
// Split regexes of each model's own tokenizer.json, then ByteLevel.
#ifndef FM_SERVICES_TOKENIZER_GGUF_PRE_TOKENIZERS_H_
#define FM_SERVICES_TOKENIZER_GGUF_PRE_TOKENIZERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/tokenizer/pre_tokenizer.h"

namespace fm::tokenizer {

// The regexes of `pre`, applied in order, each isolating its matches.
// INVALID_ARGUMENT naming an unknown name and the known ones.
absl::StatusOr<std::vector<std::string>> GgufPreTokenizerRegexes(
    absl::string_view pre);

// Those regexes as Split steps, then ByteLevel (no prefix space, no regex
// of its own).
absl::StatusOr<std::unique_ptr<PreTokenizer>> GgufPreTokenizer(
    absl::string_view pre);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_GGUF_PRE_TOKENIZERS_H_
