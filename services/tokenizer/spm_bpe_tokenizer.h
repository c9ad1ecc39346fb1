// SpmBpeTokenizer: SentencePiece's BPE encoding, run natively over a
// vocabulary table (pieces, scores, types) such as the one a GGUF file
// carries (tokenizer.ggml.model = "llama"). Gives the ids SentencePiece
// gives for a .model with the same vocabulary and normalizer settings, and
// decodes with SentencePiece's rules (text::VocabDetokenizer).
#ifndef FM_SERVICES_TOKENIZER_SPM_BPE_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_SPM_BPE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/vocab_detokenizer.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

// SentencePiece's normalizer settings for an identity normalizer (what
// Llama-family .model files use).
struct SpmNormalizer {
  // Prepend "▁" to a non-empty text.
  bool add_dummy_prefix = true;
  // Drop leading and trailing spaces and collapse runs of spaces.
  bool remove_extra_whitespaces = false;
};

class SpmBpeTokenizer final : public Tokenizer {
 public:
  // `entries[id]` describes each id (piece, score, type, text). Byte
  // fallback is on when the vocabulary has all 256 byte pieces <0x00> to
  // <0xFF>. INVALID_ARGUMENT for an empty vocabulary, a piece given twice
  // (among normal, user-defined and unused pieces) or a special id out of
  // range.
  static absl::StatusOr<std::unique_ptr<SpmBpeTokenizer>> Create(
      std::vector<text::VocabEntry> entries, text::SpecialIds special,
      SpmNormalizer normalizer);

  absl::StatusOr<std::string> Decode(
      absl::Span<const TokenId> ids) const override {
    return detokenizer_.Decode(ids);
  }
  int32_t vocab_size() const override { return detokenizer_.vocab_size(); }
  text::SpecialIds special_ids() const override {
    return detokenizer_.special_ids();
  }
  const text::VocabEntry& entry(TokenId id) const override {
    return detokenizer_.entry(id);
  }
  bool byte_fallback() const { return byte_ids_[0] >= 0; }

 protected:
  absl::Status EncodeText(absl::string_view input, bool at_text_start,
                          std::vector<TokenId>* ids) const override;
  absl::Status EncodeContinuation(absl::string_view input,
                                  std::vector<TokenId>* ids) const override;

 private:
  SpmBpeTokenizer(std::vector<text::VocabEntry> entries,
                  text::SpecialIds special, SpmNormalizer normalizer);

  // The text SentencePiece's identity normalizer makes of `text`: spaces
  // as "▁", the dummy prefix, extra spaces removed when configured.
  std::string Normalize(absl::string_view text, bool dummy_prefix = true) const;
  // Appends the ids of normalized text: its characters (and user-defined
  // pieces) merged as SentencePiece's BPE merges them, unused pieces split
  // back, unknown pieces as bytes (byte fallback) or one unk per run.
  void EncodeNormalized(absl::string_view normalized,
                        std::vector<TokenId>* ids) const;

  text::VocabDetokenizer detokenizer_;
  SpmNormalizer normalizer_;
  // Pieces that BPE may form: normal, user-defined and unused ones, with
  // their scores. Views into detokenizer_'s entries.
  absl::flat_hash_map<absl::string_view, TokenId> pieces_;
  // User-defined pieces, matched whole in the text before any merge.
  std::vector<absl::string_view> user_defined_;
  TokenId byte_ids_[256];  // <0xXX> pieces; -1 without byte fallback
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_SPM_BPE_TOKENIZER_H_
