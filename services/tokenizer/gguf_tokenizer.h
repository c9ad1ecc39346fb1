// TokenizerFromGgufVocabulary: the tokenizer a GGUF vocabulary
// (tokenizer.ggml.*) describes.
#ifndef FM_SERVICES_TOKENIZER_GGUF_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_GGUF_TOKENIZER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

// SentencePiece-style BPE ("llama": SpmBpeTokenizer) or byte-level BPE
// ("gpt2": BpeTokenizer with the tokenizer.ggml.pre regexes, control and
// user-defined pieces as added tokens). INVALID_ARGUMENT naming what is
// malformed or not supported.
absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGgufVocabulary(
    GgufVocabulary vocab);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_GGUF_TOKENIZER_H_
