// ByteLevelBpeTokenizer: GPT-2-style byte-level BPE (GPT-2, Llama 3, Qwen
// 2/3, StarCoder, DeepSeek, Falcon, ...): the text is split by the
// pre-tokenizer's regexes, each word written in the byte-level alphabet
// (common/text/byte_level.h) and merged by the merge list's ranks, lowest
// first; ids decode to the bytes their pieces stand for.
#ifndef FM_SERVICES_TOKENIZER_BYTE_LEVEL_BPE_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_BYTE_LEVEL_BPE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/vocab_detokenizer.h"
#include "services/tokenizer/regex_pre_tokenizer.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

class ByteLevelBpeTokenizer final : public Tokenizer {
 public:
  // `entries[id].piece` is in the byte-level alphabet (control and
  // user-defined pieces are literal text); `merges` are "left right" pairs,
  // best first. Each entry's text is set to the bytes it decodes to.
  // `ignore_merges`: a word that is a piece is that piece.
  // INVALID_ARGUMENT naming the merge or piece that is malformed, a piece
  // given twice, or a special id out of range.
  static absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> Create(
      std::vector<text::VocabEntry> entries,
      const std::vector<std::string>& merges, text::SpecialIds special,
      std::unique_ptr<RegexPreTokenizer> pre_tokenizer, bool ignore_merges);

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
  absl::Status EncodeText(absl::string_view input,
                          std::vector<TokenId>* ids) const override;

 private:
  ByteLevelBpeTokenizer() = default;

  // Appends the ids of one pre-tokenized word (raw bytes).
  void EncodeWord(absl::string_view word, std::vector<TokenId>* ids) const;

  std::unique_ptr<text::VocabDetokenizer> detokenizer_;
  std::unique_ptr<RegexPreTokenizer> pre_tokenizer_;
  // Byte-level piece -> id (normal pieces).
  absl::flat_hash_map<std::string, TokenId> pieces_;
  // "left right" -> rank (0 = merged first).
  absl::flat_hash_map<std::string, int32_t> ranks_;
  // A word that is a piece is that piece, merges or not (Llama 3's
  // tokenizer.json sets ignore_merges).
  bool ignore_merges_ = false;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_BYTE_LEVEL_BPE_TOKENIZER_H_
