// Facts about a SentencePiece model read straight from its serialized
// ModelProto (Debian ships no sentencepiece_model.pb.h, so the few fields we
// need are read with protobuf's UnknownFieldSet).
#ifndef FM_SERVICES_TOKENIZER_MODEL_PROTO_INFO_H_
#define FM_SERVICES_TOKENIZER_MODEL_PROTO_INFO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

struct ModelProtoInfo {
  // "unigram", "bpe", "word" or "char".
  std::string model_type = "unigram";
  bool byte_fallback = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  // What an unknown piece decodes to (TrainerSpec.unk_surface).
  std::string unk_surface = " \xE2\x81\x87 ";
  // Piece types in id order.
  std::vector<text::PieceType> piece_types;
};

// DATA_LOSS when `serialized` is not a ModelProto with at least one piece.
absl::StatusOr<ModelProtoInfo> ReadModelProtoInfo(absl::string_view serialized);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_MODEL_PROTO_INFO_H_
