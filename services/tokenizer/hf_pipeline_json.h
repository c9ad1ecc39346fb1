// The pipeline components a tokenizer.json declares, read into fmserve's
// own: the normalizer, the pre-tokenizer, what the decoder does (in the
// terms the streaming decoder knows) and the special tokens the
// post-processor frames a text with. Each type is implemented exactly or
// refused by name and JSON path.
#ifndef FM_SERVICES_TOKENIZER_HF_PIPELINE_JSON_H_
#define FM_SERVICES_TOKENIZER_HF_PIPELINE_JSON_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/tokenizer/hf_json_fields.h"
#include "services/tokenizer/normalizer.h"
#include "services/tokenizer/pre_tokenizer.h"

namespace fm::tokenizer::hf {

// Sequence, NFC, NFD, NFKC, NFKD, Replace, Prepend, Lowercase, Strip.
absl::StatusOr<std::unique_ptr<Normalizer>> ReadNormalizer(const Json& n);

// Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace,
// WhitespaceSplit, Punctuation. `names` gets the steps' types in order.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ReadPreTokenizer(
    const Json& p, std::vector<std::string>* names);

// What a decoder chain does.
struct DecoderShape {
  bool byte_level = false;   // ByteLevel
  bool metaspace = false;    // "▁" -> " " (Replace or Metaspace)
  bool byte_fallback = false;
  bool strip_leading_space = false;
};
// Sequence, ByteLevel, ByteFallback, Fuse, Replace ("▁" -> " "), Strip
// (one leading space), Metaspace; and only combinations that are either
// byte-level or SentencePiece-style.
absl::StatusOr<DecoderShape> ReadDecoder(const Json& d);

// The special tokens TemplateProcessing puts around a single sequence.
struct Framing {
  std::string before, after;  // token contents; "" for none
};
// TemplateProcessing, ByteLevel (offsets only), Sequence.
absl::StatusOr<Framing> ReadPostProcessor(const Json& p);

}  // namespace fm::tokenizer::hf

#endif  // FM_SERVICES_TOKENIZER_HF_PIPELINE_JSON_H_
