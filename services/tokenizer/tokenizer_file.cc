// LoadTokenizerFile: content sniffing, the sha256 pin, and one builder per
// format.
#include "services/tokenizer/tokenizer_file.h"

#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_digest.h"
#include "common/gguf/gguf_file.h"
#include "common/mapped_file.h"
#include "common/status_macros.h"
#include "services/tokenizer/gguf_tokenizer.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/hf_tokenizer_json.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "services/tokenizer/spm_bpe_tokenizer.h"

namespace fm::tokenizer {
namespace {

// `s` with the file's path in front of its message.
absl::Status InFile(const std::string& path, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
}

absl::StatusOr<LoadedTokenizer> LoadGguf(const std::string& path,
                                         absl::string_view expected_sha256) {
  FM_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  LoadedTokenizer loaded;
  TokenizerIdentity& id = loaded.identity;
  id.model_path = path;
  id.model_sha256 = Sha256Hex(absl::string_view(
      reinterpret_cast<const char*>(file->data()), file->size()));
  if (!expected_sha256.empty()) {
    FM_RETURN_IF_ERROR(CheckSha256(absl::StrCat("tokenizer model ", path),
                                   expected_sha256, id.model_sha256));
  }
  gguf::ParseOptions options;
  options.keep_arrays = true;
  auto parsed = gguf::Parse(file->data(), file->size(), options);
  if (!parsed.ok()) return InFile(path, parsed.status());
  auto vocab = ReadGgufVocabulary(*parsed);
  if (!vocab.ok()) return InFile(path, vocab.status());
  id.format = "gguf";
  id.model_type = vocab->model;
  id.pre_tokenizer = vocab->pre;
  id.add_dummy_prefix = vocab->add_space_prefix;
  id.remove_extra_whitespaces = vocab->remove_extra_whitespaces;
  id.chat_template = vocab->chat_template;
  id.add_bos = vocab->add_bos;
  id.add_eos = vocab->add_eos;
  id.byte_level = vocab->model == "gpt2";
  if (id.byte_level) id.add_dummy_prefix = false;
  auto tok = TokenizerFromGgufVocabulary(*std::move(vocab));
  if (!tok.ok()) return InFile(path, tok.status());
  if (const auto* spm = dynamic_cast<const SpmBpeTokenizer*>(tok->get())) {
    id.byte_fallback = spm->byte_fallback();
  }
  loaded.tokenizer = *std::move(tok);
  return loaded;
}

absl::StatusOr<LoadedTokenizer> LoadTokenizerJson(
    const std::string& path, absl::string_view expected_sha256,
    const std::string& config_path) {
  FM_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  const absl::string_view json(reinterpret_cast<const char*>(file->data()),
                               file->size());
  LoadedTokenizer loaded;
  TokenizerIdentity& id = loaded.identity;
  id.model_path = path;
  id.model_sha256 = Sha256Hex(json);
  if (!expected_sha256.empty()) {
    FM_RETURN_IF_ERROR(CheckSha256(absl::StrCat("tokenizer model ", path),
                                   expected_sha256, id.model_sha256));
  }
  std::unique_ptr<MappedFile> config;
  absl::string_view config_json;
  if (!config_path.empty()) {
    auto opened = MappedFile::Open(config_path);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("tokenizer config: ", opened.status().message()));
    }
    config = *std::move(opened);
    config_json = absl::string_view(reinterpret_cast<const char*>(config->data()),
                                    config->size());
    id.config_path = config_path;
  }
  auto parsed = ParseHfTokenizer(json, config_json);
  if (!parsed.ok()) return InFile(path, parsed.status());
  id.format = "tokenizer.json";
  id.model_type = parsed->model_type;
  id.pre_tokenizer = parsed->pre_tokenizer;
  id.add_dummy_prefix = parsed->strip_leading_space;
  id.byte_fallback = parsed->byte_fallback;
  id.byte_level = parsed->byte_level;
  id.add_bos = parsed->add_bos;
  id.add_eos = parsed->add_eos;
  id.chat_template = std::move(parsed->chat_template);
  loaded.tokenizer = std::move(parsed->tokenizer);
  return loaded;
}

absl::StatusOr<LoadedTokenizer> LoadSentencePiece(
    const std::string& path, absl::string_view expected_sha256) {
  FM_ASSIGN_OR_RETURN(std::unique_ptr<SentencePieceTokenizer> sp,
                      SentencePieceTokenizer::Load(path, expected_sha256));
  LoadedTokenizer loaded;
  TokenizerIdentity& id = loaded.identity;
  id.model_path = sp->path();
  id.model_sha256 = sp->sha256();
  id.format = "sentencepiece";
  id.model_type = sp->proto_info().model_type;
  id.add_dummy_prefix = sp->proto_info().add_dummy_prefix;
  id.remove_extra_whitespaces = sp->proto_info().remove_extra_whitespaces;
  id.byte_fallback = sp->proto_info().byte_fallback;
  loaded.tokenizer = std::move(sp);
  return loaded;
}

}  // namespace

absl::StatusOr<LoadedTokenizer> LoadTokenizerFile(
    const std::string& path, absl::string_view expected_sha256,
    const std::string& config_path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("tokenizer model ", path, ": cannot open"));
  }
  char head[64] = {};
  in.read(head, sizeof(head));
  const absl::string_view start(head, static_cast<size_t>(in.gcount()));
  if (gguf::LooksLikeGguf(start)) return LoadGguf(path, expected_sha256);
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(start), "{")) {
    return LoadTokenizerJson(path, expected_sha256, config_path);
  }
  if (!config_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer config ", config_path, " is given, but tokenizer model ",
        path, " is not a tokenizer.json"));
  }
  return LoadSentencePiece(path, expected_sha256);
}

}  // namespace fm::tokenizer
