// Trains a tiny byte-fallback BPE SentencePiece model with spm_train, so
// tokenizer tests need no downloaded files.
#ifndef FM_TESTS_TOKENIZER_TINY_TOKENIZER_H_
#define FM_TESTS_TOKENIZER_TINY_TOKENIZER_H_

#include <string>

namespace fm::testing {

// Path of a freshly trained .model (ASCII-only training text, so accented
// letters, CJK and emoji fall back to byte pieces), or "" when spm_train is
// missing or fails. Trained once per process.
std::string TinyTokenizerModel();

// The same, trained with the identity normalizer and extra whitespace kept
// (the settings of Llama-family tokenizers, and all a GGUF vocabulary can
// express).
std::string TinyIdentityTokenizerModel();

}  // namespace fm::testing

#endif  // FM_TESTS_TOKENIZER_TINY_TOKENIZER_H_
