// IncrementalDecoder: turns a growing list of token ids into text deltas for
// streaming. A delta never ends inside a UTF-8 character, and the deltas of
// a whole stream (after Flush) concatenate to exactly Decode(all ids).
// Each step decodes only a short window of recent ids, so a token costs
// O(its piece), not O(the stream).
#ifndef FM_COMMON_TEXT_INCREMENTAL_DECODER_H_
#define FM_COMMON_TEXT_INCREMENTAL_DECODER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/text/vocabulary.h"

namespace fm::text {

// Not thread-safe; one per stream. `tokenizer` must outlive it.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Detokenizer* tokenizer)
      : tokenizer_(tokenizer) {}

  // Adds `ids` and returns the text that is now final. Byte-fallback pieces
  // that begin a character still missing bytes are held back. On error
  // (an id out of range) nothing is added.
  absl::StatusOr<std::string> Add(absl::Span<const TokenId> ids);

  // Adds `ids` as context that is never returned (e.g. the prompt), so that
  // later text is decoded as its continuation (SentencePiece drops the
  // leading space of a text's first word; a continuation keeps it).
  absl::Status Prime(absl::Span<const TokenId> ids);

  // Returns everything still held back; an unfinished byte sequence becomes
  // U+FFFD, exactly as a one-shot Decode renders it.
  absl::StatusOr<std::string> Flush();

  // Ids whose text is still held back.
  int held_ids() const { return held_; }
  // All ids added so far.
  const std::vector<TokenId>& ids() const { return ids_; }

 private:
  // Number of trailing ids that are byte pieces forming the start of a
  // character that more bytes could complete.
  int CountHeldIds() const;
  absl::StatusOr<std::string> EmitUpTo(size_t n_ids);

  const Detokenizer* tokenizer_;
  std::vector<TokenId> ids_;
  // Text is emitted up to boundary_ ids (never inside a character). The
  // window ids_[anchor_, ...) is what each step decodes: anchor_ is an
  // earlier boundary after which the text is non-empty, so the start-of-
  // text rules (SentencePiece drops a first leading space) are spent and
  // the window's text continues exactly as the whole stream's does.
  // window_sent_ is the bytes of the window's text already returned.
  size_t anchor_ = 0;
  size_t boundary_ = 0;
  size_t window_sent_ = 0;
  int held_ = 0;
};

}  // namespace fm::text

#endif  // FM_COMMON_TEXT_INCREMENTAL_DECODER_H_
