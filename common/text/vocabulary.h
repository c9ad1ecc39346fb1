// The vocabulary side of text: what a token id stands for (piece, type,
// the text it contributes), the special ids, and Detokenizer, the ids ->
// text contract. Shared by fm-tokenizer, which owns the vocabulary, and
// the gateway, which decodes streams locally from an exported copy.
#ifndef FM_COMMON_TEXT_VOCABULARY_H_
#define FM_COMMON_TEXT_VOCABULARY_H_

#include <cstdint>
#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/token_id.h"

namespace fm::text {

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
  // Ids after which a model has finished: EOS and the end-of-turn tokens
  // (<|eot_id|>, <|im_end|>, <end_of_turn>), ascending, each once.
  std::vector<TokenId> end_of_generation;

  bool IsEndOfGeneration(TokenId id) const {
    return id == eos || std::find(end_of_generation.begin(),
                                  end_of_generation.end(),
                                  id) != end_of_generation.end();
  }
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

// A byte-fallback piece "<0xAB>" (two hex digits, either case) -> 0xAB;
// false for anything else.
bool ParseBytePiece(absl::string_view piece, uint8_t* byte);

// OK when every special id is -1 (none) or in [0, vocab_size);
// INVALID_ARGUMENT naming the first that is not.
absl::Status ValidateSpecialIds(const SpecialIds& special, int64_t vocab_size);

// OK when every id is in [0, vocab_size); INVALID_ARGUMENT otherwise, naming
// `field`, the index, the id and the vocabulary size.
absl::Status ValidateIds(absl::Span<const TokenId> ids, int32_t vocab_size,
                         absl::string_view field);

}  // namespace fm::text

#endif  // FM_COMMON_TEXT_VOCABULARY_H_
