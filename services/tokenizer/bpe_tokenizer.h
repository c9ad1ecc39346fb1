// BpeTokenizer: the Hugging Face tokenizer pipeline around a BPE model:
// added tokens matched whole, then per stretch of text the normalizer,
// the pre-tokenizer and the merges. Serves tokenizer.json files (Llama 3,
// Qwen, Gemma 3, Llama 2 ...) and GGUF "gpt2" vocabularies (the
// tokenizer.ggml.pre regexes, ByteLevel, merges).
#ifndef FM_SERVICES_TOKENIZER_BPE_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_BPE_TOKENIZER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/text/vocab_detokenizer.h"
#include "services/tokenizer/added_tokens.h"
#include "services/tokenizer/bpe_model.h"
#include "services/tokenizer/normalizer.h"
#include "services/tokenizer/pre_tokenizer.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

struct BpePipeline {
  // Every added token; `special` ones only under parse_special.
  std::vector<AddedToken> added_tokens;
  std::unique_ptr<Normalizer> normalizer;       // null: none
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // null: a stretch is a word
  std::unique_ptr<BpeModel> model;
};

class BpeTokenizer final : public Tokenizer {
 public:
  // `entries[id]` describes each id, its `text` already what it decodes to
  // under `rules`. INVALID_ARGUMENT for an empty vocabulary, a special or
  // added-token id out of range, or a missing model.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Create(
      std::vector<text::VocabEntry> entries, text::SpecialIds special,
      text::DecodeRules rules, BpePipeline pipeline);

  absl::StatusOr<std::string> Decode(
      absl::Span<const TokenId> ids) const override {
    return detokenizer_->Decode(ids);
  }
  int32_t vocab_size() const override { return detokenizer_->vocab_size(); }
  text::SpecialIds special_ids() const override {
    return detokenizer_->special_ids();
  }
  const text::VocabEntry& entry(TokenId id) const override {
    return detokenizer_->entry(id);
  }

 protected:
  absl::Status EncodeText(absl::string_view input, bool at_text_start,
                          std::vector<TokenId>* ids) const override;

 private:
  BpeTokenizer() = default;

  std::unique_ptr<text::VocabDetokenizer> detokenizer_;
  BpePipeline pipeline_;
  // Non-special added tokens, matched in the raw text and in normalized
  // text (those marked `normalized`, their content normalized too).
  AddedTokenMatcher raw_added_;
  AddedTokenMatcher normalized_added_;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_BPE_TOKENIZER_H_
