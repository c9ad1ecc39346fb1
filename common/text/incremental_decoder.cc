// IncrementalDecoder: decode the stable prefix, emit what is new.
#include "common/text/incremental_decoder.h"

#include <algorithm>
#include <vector>

#include "common/utf8.h"

namespace fm::text {

int IncrementalDecoder::CountHeldIds() const {
  // The text of the last few ids (control ids have none), up to the 4
  // bytes a character can span: byte-fallback pieces and byte-level pieces
  // can end inside one.
  std::string tail;
  std::vector<size_t> sizes;  // bytes of each trailing id, last first
  for (size_t i = ids_.size(); i > 0 && tail.size() < 4; --i) {
    const VocabEntry& e = tokenizer_->entry(ids_[i - 1]);
    const size_t n = e.type == PieceType::kControl ? 0 : e.text.size();
    tail.insert(0, e.text, 0, n);
    sizes.push_back(n);
  }
  if (!Utf8EndsWithIncompleteChar(tail)) return 0;
  // Hold the ids that carry the unfinished character.
  const size_t unfinished = tail.size() - Utf8CompletePrefixLength(tail);
  int held = 0;
  size_t covered = 0;
  for (size_t n : sizes) {
    ++held;
    covered += n;
    if (covered >= unfinished) break;
  }
  return held;
}

absl::StatusOr<std::string> IncrementalDecoder::EmitUpTo(size_t n_ids) {
  if (n_ids <= boundary_) return std::string();
  auto window = [this](size_t from, size_t to) {
    return tokenizer_->Decode(absl::MakeConstSpan(ids_.data() + from, to - from));
  };
  absl::StatusOr<std::string> text = window(anchor_, n_ids);
  if (!text.ok()) return text.status();
  // Decoding is prefix-stable at boundaries that do not split a character,
  // so the window's new text extends what was sent.
  std::string delta =
      text->size() > window_sent_ ? text->substr(window_sent_) : std::string();
  window_sent_ = std::max(window_sent_, text->size());
  // Slide the window up to the previous boundary once the text after it
  // is non-empty on its own.
  if (!delta.empty() && boundary_ > anchor_) {
    absl::StatusOr<std::string> rest = window(boundary_, n_ids);
    if (!rest.ok()) return rest.status();
    if (!rest->empty()) {
      anchor_ = boundary_;
      window_sent_ = rest->size();
    }
  }
  boundary_ = n_ids;
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
