// ReadGgufVocabulary: llama.cpp's tokenizer.ggml.* keys, every one checked
// before it is used (the file is untrusted).
#include "services/tokenizer/gguf_vocabulary.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "services/tokenizer/end_of_generation.h"

namespace fm::tokenizer {
namespace {

constexpr char kPrefix[] = "tokenizer.ggml.";

const gguf::Value* Find(const gguf::File& f, absl::string_view name) {
  return f.Find(absl::StrCat(kPrefix, name));
}

absl::Status Mistyped(absl::string_view name, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat(
      "GGUF metadata '", kPrefix, name, "' is not ", want));
}

bool IsInteger(uint32_t type) {
  return type == gguf::kUint8 || type == gguf::kInt8 ||
         type == gguf::kUint16 || type == gguf::kInt16 ||
         type == gguf::kUint32 || type == gguf::kInt32 ||
         type == gguf::kUint64 || type == gguf::kInt64;
}

absl::Status ReadBool(const gguf::File& f, absl::string_view name,
                      bool* out) {
  const gguf::Value* v = Find(f, name);
  if (v == nullptr) return absl::OkStatus();
  if (v->type != gguf::kBool) return Mistyped(name, "a bool");
  *out = v->u != 0;
  return absl::OkStatus();
}

// A special id: absent, or -1 / 0xFFFFFFFF (llama.cpp's "none"), leaves
// `out` as it is.
absl::Status ReadId(const gguf::File& f, absl::string_view name, int64_t n,
                    TokenId* out) {
  const gguf::Value* v = Find(f, name);
  if (v == nullptr) return absl::OkStatus();
  if (!IsInteger(v->type)) return Mistyped(name, "an integer");
  if (v->i == -1 || v->u == 0xFFFFFFFFu) return absl::OkStatus();
  if (v->i < 0 || v->i >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF metadata '", kPrefix, name, "' = ", v->i,
                     " is outside [0, ", n, ") (vocabulary size)"));
  }
  *out = static_cast<TokenId>(v->i);
  return absl::OkStatus();
}

// llama.cpp's token types (LLAMA_TOKEN_TYPE_*).
absl::StatusOr<text::PieceType> PieceTypeOf(int64_t type, int64_t index) {
  switch (type) {
    case 0:  // undefined
    case 1:
      return text::PieceType::kNormal;
    case 2:
      return text::PieceType::kUnknown;
    case 3:
      return text::PieceType::kControl;
    case 4:
      return text::PieceType::kUserDefined;
    case 5:
      return text::PieceType::kUnused;
    case 6:
      return text::PieceType::kByte;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF metadata '", kPrefix, "token_type[", index, "]' = ", type,
          " is not a token type (0 to 6)"));
  }
}

// What a piece of a SentencePiece-style vocabulary decodes to mid-text.
std::string SpmText(const text::VocabEntry& e) {
  uint8_t byte;
  switch (e.type) {
    case text::PieceType::kByte:
      return text::ParseBytePiece(e.piece, &byte)
                 ? std::string(1, static_cast<char>(byte))
                 : "";
    case text::PieceType::kControl:
      return "";
    case text::PieceType::kUnknown:
      return " \xE2\x81\x87 ";  // SentencePiece's default unk surface " ⁇ "
    default:
      return absl::StrReplaceAll(e.piece, {{"\xE2\x96\x81", " "}});
  }
}

}  // namespace

absl::StatusOr<GgufVocabulary> ReadGgufVocabulary(const gguf::File& f) {
  GgufVocabulary vocab;
  const gguf::Value* model = Find(f, "model");
  if (model == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", kPrefix, "model' is missing: the file carries no "
        "tokenizer"));
  }
  if (model->type != gguf::kString) return Mistyped("model", "a string");
  vocab.model = model->str;
  if (const gguf::Value* pre = Find(f, "pre")) {
    if (pre->type != gguf::kString) return Mistyped("pre", "a string");
    vocab.pre = pre->str;
  }
  const gguf::Value* tokens = Find(f, "tokens");
  if (tokens == nullptr || tokens->type != gguf::kArray ||
      tokens->array_type != gguf::kString) {
    return Mistyped("tokens", "an array of strings");
  }
  const int64_t n = static_cast<int64_t>(tokens->strings.size());
  if (n == 0 || n > kMaxVocabSize ||
      tokens->array_len != static_cast<uint64_t>(n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", kPrefix, "tokens' has ", tokens->array_len,
        " pieces; it must have 1 to ", kMaxVocabSize));
  }
  const gguf::Value* scores = Find(f, "scores");
  if (scores != nullptr &&
      (scores->type != gguf::kArray || scores->array_type != gguf::kFloat32 ||
       static_cast<int64_t>(scores->floats.size()) != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", kPrefix, "scores' must be ", n,
        " float32 values, one per piece"));
  }
  const gguf::Value* types = Find(f, "token_type");
  if (types != nullptr &&
      (types->type != gguf::kArray || !IsInteger(types->array_type) ||
       static_cast<int64_t>(types->ints.size()) != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF metadata '", kPrefix, "token_type' must be ", n,
        " integers, one per piece"));
  }
  vocab.entries.resize(n);
  for (int64_t id = 0; id < n; ++id) {
    text::VocabEntry& e = vocab.entries[id];
    e.piece = tokens->strings[id];
    if (e.piece.size() > kMaxPieceBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GGUF metadata '", kPrefix, "tokens[", id, "]' has ",
          e.piece.size(), " bytes; the limit is ", kMaxPieceBytes));
    }
    if (scores != nullptr) e.score = scores->floats[id];
    if (types != nullptr) {
      absl::StatusOr<text::PieceType> type = PieceTypeOf(types->ints[id], id);
      if (!type.ok()) return type.status();
      e.type = *type;
    }
  }
  if (const gguf::Value* merges = Find(f, "merges")) {
    if (merges->type != gguf::kArray || merges->array_type != gguf::kString) {
      return Mistyped("merges", "an array of strings");
    }
    vocab.merges = merges->strings;
  }

  // llama.cpp's defaults per tokenizer model, then the file's own flags.
  const bool spm = vocab.model == "llama";
  vocab.add_bos = spm;
  vocab.add_space_prefix = spm;
  absl::Status s = ReadBool(f, "add_bos_token", &vocab.add_bos);
  if (s.ok()) s = ReadBool(f, "add_eos_token", &vocab.add_eos);
  if (s.ok()) s = ReadBool(f, "add_space_prefix", &vocab.add_space_prefix);
  if (s.ok()) {
    s = ReadBool(f, "remove_extra_whitespaces", &vocab.remove_extra_whitespaces);
  }
  if (s.ok()) s = ReadId(f, "bos_token_id", n, &vocab.special.bos);
  if (s.ok()) s = ReadId(f, "eos_token_id", n, &vocab.special.eos);
  if (s.ok()) s = ReadId(f, "unknown_token_id", n, &vocab.special.unk);
  if (s.ok()) s = ReadId(f, "padding_token_id", n, &vocab.special.pad);
  TokenId eot = -1, eom = -1;
  if (s.ok()) s = ReadId(f, "eot_token_id", n, &eot);
  if (s.ok()) s = ReadId(f, "eom_token_id", n, &eom);
  if (!s.ok()) return s;
  // EOS, EOT and EOM, and every control piece with an end-of-turn text
  // (files converted without the eot/eom keys still stop at <|im_end|>).
  std::vector<AddedToken> controls;
  for (TokenId id = 0; id < n; ++id) {
    if (vocab.entries[id].type == text::PieceType::kControl) {
      controls.push_back({vocab.entries[id].piece, id, /*special=*/true});
    }
  }
  vocab.special.end_of_generation = EndOfGenerationIds(vocab.special.eos, controls);
  for (TokenId id : {eot, eom}) {
    if (id >= 0 && !vocab.special.IsEndOfGeneration(id)) {
      vocab.special.end_of_generation.push_back(id);
    }
  }
  std::sort(vocab.special.end_of_generation.begin(),
            vocab.special.end_of_generation.end());
  if (const gguf::Value* chat = f.Find("tokenizer.chat_template")) {
    if (chat->type != gguf::kString) {
      return absl::InvalidArgumentError(
          "GGUF metadata 'tokenizer.chat_template' is not a string");
    }
    vocab.chat_template = chat->str;
  }
  if (spm) {
    for (text::VocabEntry& e : vocab.entries) e.text = SpmText(e);
  }
  return vocab;
}

}  // namespace fm::tokenizer
