// Test data for tokenizers: llama.cpp's vocabulary test vectors (.inp/.out
// pairs), seeded random text across scripts and whitespace, and a GGUF
// file holding a tokenizer's vocabulary (tokenizer.ggml.* keys).
#ifndef FM_TESTS_TOKENIZER_VOCAB_TEST_DATA_H_
#define FM_TESTS_TOKENIZER_VOCAB_TEST_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/text/vocabulary.h"
#include "tests/support/gguf_writer.h"

namespace fm::testing {

// llama.cpp's format: inputs separated by "\n__ggml_vocab_test__\n", one
// line of expected ids (no BOS) each. Empty when either file is missing or
// they disagree in count.
std::vector<std::pair<std::string, std::vector<TokenId>>> ReadVocabVectors(
    const std::string& inp_path, const std::string& out_path);

// `count` texts from `seed`: words, digit runs, runs of spaces, tabs and
// newlines, punctuation, accented Latin, Cyrillic, CJK, emoji and
// text that looks like special tokens, 0 to 12 pieces each.
std::vector<std::string> RandomTexts(int count, uint32_t seed);

// Feeds `ids` one at a time to an IncrementalDecoder; CHECKs that every
// delta is whole UTF-8 and that the deltas join to the one-shot decode.
// Returns the most ids that were held back at once.
int StreamOneByOne(const text::Detokenizer& tok, const std::vector<TokenId>& ids);

struct GgufVocabOptions {
  std::string model = "llama";
  bool add_space_prefix = true;
  bool remove_extra_whitespaces = false;
};

// The tokenizer.ggml.* metadata of `vocab` (pieces, scores, types, special
// ids) in `w`.
void AddGgufVocabulary(const text::Detokenizer& vocab,
                       const GgufVocabOptions& options, GgufWriter* w);

}  // namespace fm::testing

#endif  // FM_TESTS_TOKENIZER_VOCAB_TEST_DATA_H_
