// GgufVocabulary: the tokenizer a GGUF file describes in its
// tokenizer.ggml.* metadata (llama.cpp's keys), read and checked: pieces,
// scores, token types, merges, special and end-of-generation ids, the
// normalizer flags and the chat template.
#ifndef FM_SERVICES_TOKENIZER_GGUF_VOCABULARY_H_
#define FM_SERVICES_TOKENIZER_GGUF_VOCABULARY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/gguf/gguf_file.h"
#include "common/text/vocabulary.h"

namespace fm::tokenizer {

// Largest vocabulary and piece accepted (Gemma 3 has 262,144 pieces).
inline constexpr int64_t kMaxVocabSize = 1 << 21;
inline constexpr size_t kMaxPieceBytes = 1 << 16;

struct GgufVocabulary {
  // tokenizer.ggml.model: "llama" (SentencePiece-style), "gpt2" (byte-level
  // BPE), ...; and tokenizer.ggml.pre, the pre-tokenizer ("" when absent).
  std::string model;
  std::string pre;
  // entries[id]: piece, score, type and the text it decodes to.
  std::vector<text::VocabEntry> entries;
  // tokenizer.ggml.merges ("left right", best first), for BPE models.
  std::vector<std::string> merges;
  // With end_of_generation: EOS, EOT and EOM (end of turn, end of message)
  // and control pieces with an end-of-turn text.
  text::SpecialIds special;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  bool remove_extra_whitespaces = false;
  // tokenizer.chat_template ("" when absent).
  std::string chat_template;
};

// INVALID_ARGUMENT naming the key (and index) for a missing or mistyped
// key, array lengths that disagree, a token type or special id out of
// range, or sizes over the limits above.
absl::StatusOr<GgufVocabulary> ReadGgufVocabulary(const gguf::File& file);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_GGUF_VOCABULARY_H_
