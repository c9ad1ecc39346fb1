// SentencePieceTokenizer: the Tokenizer backed by a SentencePiece .model
// file, pinned by sha256 and checked before SentencePiece parses it.
#ifndef FM_SERVICES_TOKENIZER_SENTENCEPIECE_TOKENIZER_H_
#define FM_SERVICES_TOKENIZER_SENTENCEPIECE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/tokenizer/model_proto_info.h"
#include "services/tokenizer/sentencepiece_adapter.h"
#include "services/tokenizer/tokenizer.h"

namespace fm::tokenizer {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Largest .model file accepted; the Llama 2 tokenizer is 0.5 MB and the
  // largest common SentencePiece models are a few MB.
  static constexpr int64_t kMaxModelBytes = 64 << 20;

  // Loads `path`. When `expected_sha256` is non-empty the file must hash to
  // it (FAILED_PRECONDITION otherwise) before SentencePiece sees a byte:
  // SentencePiece can be crashed by crafted files. NOT_FOUND for a missing
  // file, DATA_LOSS for one that is not a SentencePiece model.
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> Load(
      absl::string_view path, absl::string_view expected_sha256 = "");

  absl::StatusOr<std::string> Decode(
      absl::Span<const TokenId> ids) const override;
  int32_t vocab_size() const override {
    return static_cast<int32_t>(vocab_.size());
  }
  text::SpecialIds special_ids() const override { return special_; }
  const text::VocabEntry& entry(TokenId id) const override { return vocab_[id]; }

  const std::string& sha256() const { return sha256_; }
  const std::string& path() const { return path_; }
  const ModelProtoInfo& proto_info() const { return proto_info_; }

 protected:
  absl::Status EncodeText(absl::string_view text, bool at_text_start,
                          std::vector<TokenId>* ids) const override;
  absl::Status EncodeContinuation(absl::string_view text,
                                  std::vector<TokenId>* ids) const override;

 private:
  SentencePieceTokenizer() = default;
  static absl::Status EncodeWith(const SpBackend& sp, absl::string_view text,
                                 std::vector<TokenId>* out);

  std::unique_ptr<SpBackend> sp_;
  // The same model without the dummy prefix (when it has one), for
  // continuations; nullptr otherwise.
  std::unique_ptr<SpBackend> sp_continuation_;
  std::string path_;
  std::string sha256_;
  ModelProtoInfo proto_info_;
  text::SpecialIds special_;
  std::vector<text::VocabEntry> vocab_;  // (vocab_size)
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_SENTENCEPIECE_TOKENIZER_H_
