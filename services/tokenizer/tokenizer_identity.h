// TokenizerIdentity: what Info reports about the loaded tokenizer beyond
// the Tokenizer interface (the file, its format and settings).
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_IDENTITY_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_IDENTITY_H_

#include <string>

namespace fm::tokenizer {

struct TokenizerIdentity {
  std::string model_path;
  std::string model_sha256;
  // The file's format: "sentencepiece" (a .model), "gguf" or
  // "tokenizer.json".
  std::string format;
  // The tokenizer model: SentencePiece's "bpe"/"unigram", or GGUF's
  // tokenizer.ggml.model ("llama").
  std::string model_type;
  // The pre-tokenizer (GGUF's tokenizer.ggml.pre); "" when none.
  std::string pre_tokenizer;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = false;
  bool byte_fallback = false;
  // Byte-level BPE: ids decode to the bytes their pieces stand for.
  bool byte_level = false;
  // What the file says a text starts / ends with (requests decide).
  bool add_bos = false;
  bool add_eos = false;
  // The tokenizer_config.json beside a tokenizer.json ("" when none).
  std::string config_path;
  // The Jinja2 chat template (GGUF tokenizer.chat_template or
  // tokenizer_config.json chat_template; "" when none).
  std::string chat_template;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_IDENTITY_H_
