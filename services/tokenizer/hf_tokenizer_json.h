// ParseHfTokenizer: a Hugging Face tokenizer.json (and optionally its
// tokenizer_config.json) read into a BpeTokenizer. Every component it
// names is either implemented exactly or refused by name: a model other
// than BPE, an unknown normalizer, pre-tokenizer or decoder type, a
// decoder combination fmserve cannot stream, stop loading with a message
// naming it and where it sits in the file.
#ifndef FM_SERVICES_TOKENIZER_HF_TOKENIZER_JSON_H_
#define FM_SERVICES_TOKENIZER_HF_TOKENIZER_JSON_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

struct HfTokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
  // "BPE", and the pre-tokenizer's steps ("Split,ByteLevel"; "" for none).
  std::string model_type;
  std::string pre_tokenizer;
  bool byte_fallback = false;
  bool byte_level = false;
  // The decoder drops the first leading space (SentencePiece's dummy
  // prefix).
  bool strip_leading_space = false;
  // tokenizer_config.json add_bos_token / add_eos_token, else what the
  // post-processor adds.
  bool add_bos = false;
  bool add_eos = false;
  // tokenizer_config.json chat_template ("" when absent).
  std::string chat_template;
};

// `config_json` may be empty (no tokenizer_config.json). INVALID_ARGUMENT
// naming the field (as a JSON path) for anything malformed or unsupported.
absl::StatusOr<HfTokenizer> ParseHfTokenizer(absl::string_view tokenizer_json,
                                             absl::string_view config_json);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_HF_TOKENIZER_JSON_H_
