// IncrementalDecoder: decode the stable prefix, emit what is new.
#include "common/text/incremental_decoder.h"

#include "common/utf8.h"

namespace fm::text {

int IncrementalDecoder::CountHeldIds() const {
  // A character is at most 4 bytes, so at most 3 trailing byte pieces can
  // be an unfinished one.
  std::string tail;
  int run = 0;
  for (size_t i = ids_.size(); i > 0 && run < 3; --i) {
    const VocabEntry& e = tokenizer_->entry(ids_[i - 1]);
    if (e.type != PieceType::kByte || e.text.size() != 1) break;
    tail.insert(tail.begin(), e.text[0]);
    ++run;
  }
  if (!Utf8EndsWithIncompleteChar(tail)) return 0;
  // Each byte piece is one byte: hold exactly the unfinished character.
  return static_cast<int>(tail.size() - Utf8CompletePrefixLength(tail));
}

absl::StatusOr<std::string> IncrementalDecoder::EmitUpTo(size_t n_ids) {
  absl::StatusOr<std::string> text = tokenizer_->Decode(
      absl::MakeConstSpan(ids_.data(), n_ids));
  if (!text.ok()) return text.status();
  // Decoding is prefix-stable at boundaries that do not split a character,
  // so the new text extends what was sent.
  if (text->size() <= sent_bytes_) return std::string();
  std::string delta = text->substr(sent_bytes_);
  sent_bytes_ = text->size();
  return delta;
}

absl::StatusOr<std::string> IncrementalDecoder::Add(
    absl::Span<const TokenId> ids) {
  absl::Status valid = ValidateIds(ids, tokenizer_->vocab_size(), "ids");
  if (!valid.ok()) return valid;
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  held_ = CountHeldIds();
  return EmitUpTo(ids_.size() - held_);
}

absl::Status IncrementalDecoder::Prime(absl::Span<const TokenId> ids) {
  auto ignored = Add(ids);
  return ignored.status();
}

absl::StatusOr<std::string> IncrementalDecoder::Flush() {
  held_ = 0;
  return EmitUpTo(ids_.size());
}

}  // namespace fm::text
