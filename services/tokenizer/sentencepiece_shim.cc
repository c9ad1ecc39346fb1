// The only file that includes <sentencepiece_processor.h>; built as the
// module libfm_spshim.so. No Abseil, gRPC or protobuf header may be
// included here (SentencePiece's header clashes with Abseil's string_view).
#include <sentencepiece_processor.h>

#include "services/tokenizer/sentencepiece_backend.h"

namespace fm::tokenizer {
namespace {

int ToCode(const sentencepiece::util::Status& status, std::string* error) {
  if (status.ok()) return 0;
  if (error != nullptr) *error = status.error_message();
  return static_cast<int>(status.code());
}

class SentencePieceBackend final : public SpBackend {
 public:
  int LoadFromSerialized(const std::string& serialized,
                         std::string* error) override {
    return ToCode(processor_.LoadFromSerializedProto(serialized), error);
  }
  int Encode(const std::string& text, std::vector<int>* ids,
             std::string* error) const override {
    return ToCode(processor_.Encode(text, ids), error);
  }
  int Decode(const std::vector<int>& ids, std::string* text,
             std::string* error) const override {
    return ToCode(processor_.Decode(ids, text), error);
  }
  int PieceSize() const override { return processor_.GetPieceSize(); }
  std::string IdToPiece(int id) const override {
    return processor_.IdToPiece(id);
  }
  float GetScore(int id) const override { return processor_.GetScore(id); }
  int bos_id() const override { return processor_.bos_id(); }
  int eos_id() const override { return processor_.eos_id(); }
  int unk_id() const override { return processor_.unk_id(); }
  int pad_id() const override { return processor_.pad_id(); }

 private:
  sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace
}  // namespace fm::tokenizer

extern "C" __attribute__((visibility("default")))
fm::tokenizer::SpBackend* FmSentencePieceBackendCreate() {
  return new fm::tokenizer::SentencePieceBackend();
}
