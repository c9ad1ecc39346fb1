// Reads model type, normalizer flags and piece types from a ModelProto.
// Field numbers are those of sentencepiece_model.proto.
#include "services/tokenizer/model_proto_info.h"

#include <google/protobuf/unknown_field_set.h>

#include "absl/strings/str_cat.h"

namespace fm::tokenizer {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

constexpr int kModelPieces = 1;            // ModelProto.pieces
constexpr int kModelTrainerSpec = 2;       // ModelProto.trainer_spec
constexpr int kModelNormalizerSpec = 3;    // ModelProto.normalizer_spec
constexpr int kPieceType = 3;              // SentencePiece.type
constexpr int kTrainerModelType = 3;       // TrainerSpec.model_type
constexpr int kTrainerByteFallback = 35;   // TrainerSpec.byte_fallback
constexpr int kTrainerUnkSurface = 44;     // TrainerSpec.unk_surface
constexpr int kNormalizerAddDummyPrefix = 3;
constexpr int kNormalizerRemoveExtraWhitespaces = 4;

bool ParseGroup(const UnknownField& field, UnknownFieldSet* out) {
  if (field.type() != UnknownField::TYPE_LENGTH_DELIMITED) return false;
  return out->ParseFromString(field.length_delimited());
}

text::PieceType TypeFromProto(uint64_t value) {
  switch (value) {
    case 2: return text::PieceType::kUnknown;
    case 3: return text::PieceType::kControl;
    case 4: return text::PieceType::kUserDefined;
    case 5: return text::PieceType::kUnused;
    case 6: return text::PieceType::kByte;
    default: return text::PieceType::kNormal;  // 1 = NORMAL, and the default
  }
}

}  // namespace

absl::StatusOr<ModelProtoInfo> ReadModelProtoInfo(
    absl::string_view serialized) {
  UnknownFieldSet model;
  if (!model.ParseFromArray(serialized.data(),
                            static_cast<int>(serialized.size()))) {
    return absl::DataLossError("tokenizer model is not a SentencePiece "
                               "ModelProto (protobuf parse failed)");
  }
  ModelProtoInfo info;
  for (int i = 0; i < model.field_count(); ++i) {
    const UnknownField& field = model.field(i);
    UnknownFieldSet group;
    if (field.number() == kModelPieces && ParseGroup(field, &group)) {
      text::PieceType type = text::PieceType::kNormal;
      for (int j = 0; j < group.field_count(); ++j) {
        if (group.field(j).number() == kPieceType &&
            group.field(j).type() == UnknownField::TYPE_VARINT) {
          type = TypeFromProto(group.field(j).varint());
        }
      }
      info.piece_types.push_back(type);
    } else if (field.number() == kModelTrainerSpec &&
               ParseGroup(field, &group)) {
      for (int j = 0; j < group.field_count(); ++j) {
        const UnknownField& f = group.field(j);
        if (f.number() == kTrainerUnkSurface &&
            f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
          info.unk_surface = f.length_delimited();
        }
        if (f.type() != UnknownField::TYPE_VARINT) continue;
        if (f.number() == kTrainerModelType) {
          static const char* kTypes[] = {"?", "unigram", "bpe", "word", "char"};
          info.model_type = f.varint() < 5 ? kTypes[f.varint()] : "?";
        } else if (f.number() == kTrainerByteFallback) {
          info.byte_fallback = f.varint() != 0;
        }
      }
    } else if (field.number() == kModelNormalizerSpec &&
               ParseGroup(field, &group)) {
      for (int j = 0; j < group.field_count(); ++j) {
        const UnknownField& f = group.field(j);
        if (f.type() != UnknownField::TYPE_VARINT) continue;
        if (f.number() == kNormalizerAddDummyPrefix) {
          info.add_dummy_prefix = f.varint() != 0;
        } else if (f.number() == kNormalizerRemoveExtraWhitespaces) {
          info.remove_extra_whitespaces = f.varint() != 0;
        }
      }
    }
  }
  if (info.piece_types.empty()) {
    return absl::DataLossError(
        "tokenizer model has no pieces (not a SentencePiece .model file?)");
  }
  return info;
}

}  // namespace fm::tokenizer
