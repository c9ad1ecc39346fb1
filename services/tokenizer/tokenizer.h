// Tokenizer: the text <-> token id contract every fmserve component relies
// on. Lossless for valid UTF-8: Decode(Encode(x)) == x up to the model's
// normalization (SentencePiece's contract).
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace fm::tokenizer {

using TokenId = int32_t;

struct EncodeOptions {
  bool add_bos = false;
  bool add_eos = false;
};

// SentencePiece's piece types.
enum class PieceType { kNormal, kUnknown, kControl, kUserDefined, kByte, kUnused };

struct VocabEntry {
  // The piece as stored ("\xe2\x96\x81the", "<0xE2>", "<s>").
  std::string piece;
  float score = 0;
  PieceType type = PieceType::kNormal;
  // What the piece contributes to text mid-sequence: "▁" becomes a space,
  // a byte piece its raw byte, a control piece nothing.
  std::string text;
};

struct SpecialIds {
  TokenId bos = -1;  // -1 = none
  TokenId eos = -1;
  TokenId unk = -1;
  TokenId pad = -1;
};

// Ids -> text. Thread-safe: all methods are const.
class Detokenizer {
 public:
  virtual ~Detokenizer() = default;

  // INVALID_ARGUMENT naming the position and value of the first id outside
  // [0, vocab_size()).
  virtual absl::StatusOr<std::string> Decode(
      absl::Span<const TokenId> ids) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual SpecialIds special_ids() const = 0;
  // Requires 0 <= id < vocab_size().
  virtual const VocabEntry& entry(TokenId id) const = 0;
};

// Text <-> ids. Thread-safe: all methods are const.
class Tokenizer : public Detokenizer {
 public:
  // INVALID_ARGUMENT when `text` is not valid UTF-8 (naming the offset).
  // Empty text gives no ids (or BOS/EOS alone).
  virtual absl::StatusOr<std::vector<TokenId>> Encode(
      absl::string_view text, const EncodeOptions& options) const = 0;
};

// OK when every id is in [0, vocab_size); INVALID_ARGUMENT otherwise, naming
// `field`, the index, the id and the vocabulary size.
absl::Status ValidateIds(absl::Span<const TokenId> ids, int32_t vocab_size,
                         absl::string_view field);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_H_
