// SentencePieceTokenizer: loading with integrity checks, Encode/Decode with
// input validation, and the vocabulary table.
#include "services/tokenizer/sentencepiece_tokenizer.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file_digest.h"
#include "common/utf8.h"

namespace fm::tokenizer {
namespace {

absl::Status FromSpCode(int code, const std::string& error,
                        absl::string_view what) {
  if (code == 0) return absl::OkStatus();
  // SentencePiece's util::StatusCode uses google.rpc.Code numbering too.
  const absl::StatusCode absl_code =
      (code > 0 && code <= 16) ? static_cast<absl::StatusCode>(code)
                               : absl::StatusCode::kUnknown;
  return absl::Status(absl_code, absl::StrCat(what, ": ", error));
}

absl::StatusOr<std::string> ReadModelFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("tokenizer model ", path, ": cannot open file"));
  }
  const std::streamoff size = in.tellg();
  if (size <= 0) {
    return absl::DataLossError(
        absl::StrCat("tokenizer model ", path, " is empty"));
  }
  if (size > SentencePieceTokenizer::kMaxModelBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer model ", path, " is ", size, " bytes; the limit is ",
        SentencePieceTokenizer::kMaxModelBytes));
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) {
    return absl::DataLossError(
        absl::StrCat("tokenizer model ", path, ": read failed"));
  }
  return bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>>
SentencePieceTokenizer::Load(absl::string_view path,
                             absl::string_view expected_sha256) {
  std::unique_ptr<SentencePieceTokenizer> tok(new SentencePieceTokenizer());
  tok->path_ = std::string(path);
  auto bytes = ReadModelFile(tok->path_);
  if (!bytes.ok()) return bytes.status();
  tok->sha256_ = Sha256Hex(*bytes);
  if (!expected_sha256.empty()) {
    absl::Status pinned = CheckSha256(
        absl::StrCat("tokenizer model ", path), expected_sha256, tok->sha256_);
    if (!pinned.ok()) return pinned;
  }
  auto info = ReadModelProtoInfo(*bytes);
  if (!info.ok()) {
    return absl::Status(info.status().code(),
                        absl::StrCat(path, ": ", info.status().message()));
  }
  tok->proto_info_ = *std::move(info);

  std::string error;
  tok->sp_ = LoadSentencePieceBackend(&error);
  if (tok->sp_ == nullptr) return absl::UnavailableError(error);
  absl::Status loaded = FromSpCode(tok->sp_->LoadFromSerialized(*bytes, &error),
                                   error, absl::StrCat("tokenizer model ", path));
  if (!loaded.ok()) {
    // A file that parses as protobuf but that SentencePiece rejects is
    // corrupt for our purposes.
    return absl::DataLossError(loaded.message());
  }
  if (tok->proto_info_.add_dummy_prefix) {
    // Appending a NormalizerSpec (ModelProto field 3) holding only
    // add_dummy_prefix (its field 3) = false: protobuf merges a repeated
    // singular message field, so this overrides that one field.
    tok->sp_continuation_ = LoadSentencePieceBackend(&error);
    if (tok->sp_continuation_ == nullptr) return absl::UnavailableError(error);
    absl::Status continuation =
        FromSpCode(tok->sp_continuation_->LoadFromSerialized(
                       *bytes + std::string("\x1a\x02\x18\x00", 4), &error),
                   error, absl::StrCat("tokenizer model ", path));
    if (!continuation.ok()) return absl::DataLossError(continuation.message());
  }
  const int n = tok->sp_->PieceSize();
  if (n <= 0 || n != static_cast<int>(tok->proto_info_.piece_types.size())) {
    return absl::DataLossError(absl::StrCat(
        "tokenizer model ", path, ": piece count ", n,
        " does not match the model proto (",
        tok->proto_info_.piece_types.size(), ")"));
  }
  tok->special_.bos = tok->sp_->bos_id();
  tok->special_.eos = tok->sp_->eos_id();
  tok->special_.unk = tok->sp_->unk_id();
  tok->special_.pad = tok->sp_->pad_id();
  if (tok->special_.eos >= 0) tok->special_.end_of_generation = {tok->special_.eos};
  tok->vocab_.resize(n);
  for (int id = 0; id < n; ++id) {
    text::VocabEntry& e = tok->vocab_[id];
    e.piece = tok->sp_->IdToPiece(id);
    e.score = tok->sp_->GetScore(id);
    e.type = tok->proto_info_.piece_types[id];
    uint8_t byte;
    switch (e.type) {
      case text::PieceType::kByte:
        if (text::ParseBytePiece(e.piece, &byte)) {
          e.text.assign(1, static_cast<char>(byte));
        }
        break;
      case text::PieceType::kControl:
        break;
      case text::PieceType::kUnknown:
        e.text = tok->proto_info_.unk_surface;
        break;
      default:
        e.text = absl::StrReplaceAll(e.piece, {{"\xE2\x96\x81", " "}});
    }
  }
  tok->SetSpecialTokensFromVocabulary();
  return tok;
}

absl::Status SentencePieceTokenizer::EncodeText(
    absl::string_view text, bool /*at_text_start*/,
    std::vector<TokenId>* out) const {
  return EncodeWith(*sp_, text, out);
}

absl::Status SentencePieceTokenizer::EncodeContinuation(
    absl::string_view text, std::vector<TokenId>* out) const {
  return EncodeWith(sp_continuation_ != nullptr ? *sp_continuation_ : *sp_,
                    text, out);
}

absl::Status SentencePieceTokenizer::EncodeWith(const SpBackend& sp,
                                                absl::string_view text,
                                                std::vector<TokenId>* out) {
  std::vector<int> ids;
  std::string error;
  absl::Status encoded =
      FromSpCode(sp.Encode(std::string(text), &ids, &error), error, "encode");
  if (!encoded.ok()) return encoded;
  out->insert(out->end(), ids.begin(), ids.end());
  return absl::OkStatus();
}

absl::StatusOr<std::string> SentencePieceTokenizer::Decode(
    absl::Span<const TokenId> ids) const {
  absl::Status valid = text::ValidateIds(ids, vocab_size(), "ids");
  if (!valid.ok()) return valid;
  std::string text;
  std::string error;
  absl::Status decoded =
      FromSpCode(sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &text,
                            &error),
                 error, "decode");
  if (!decoded.ok()) return decoded;
  return text;
}

}  // namespace fm::tokenizer
