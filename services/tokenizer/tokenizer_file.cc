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
#include "services/tokenizer/byte_level_bpe_tokenizer.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/regex_pre_tokenizer.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "services/tokenizer/spm_bpe_tokenizer.h"

namespace fm::tokenizer {
namespace {

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
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  }
  auto vocab = ReadGgufVocabulary(*parsed);
  if (!vocab.ok()) {
    return absl::Status(vocab.status().code(),
                        absl::StrCat(path, ": ", vocab.status().message()));
  }
  id.format = "gguf";
  id.model_type = vocab->model;
  id.pre_tokenizer = vocab->pre;
  id.add_dummy_prefix = vocab->add_space_prefix;
  id.remove_extra_whitespaces = vocab->remove_extra_whitespaces;
  if (vocab->model == "gpt2") {
    auto pre = RegexPreTokenizer::ForGgufPre(vocab->pre);
    if (!pre.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", pre.status().message()));
    }
    // Llama 3's tokenizer.json sets ignore_merges (llama.cpp: llama-bpe).
    const bool ignore_merges = vocab->pre == "llama-bpe";
    auto bpe = ByteLevelBpeTokenizer::Create(std::move(vocab->entries),
                                             vocab->merges, vocab->special,
                                             *std::move(pre), ignore_merges);
    if (!bpe.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", bpe.status().message()));
    }
    id.add_dummy_prefix = false;
    id.byte_level = true;
    loaded.tokenizer = *std::move(bpe);
    return loaded;
  }
  if (vocab->model != "llama") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": GGUF tokenizer model '", vocab->model,
        "' (tokenizer.ggml.model) is not supported; supported: 'llama' "
        "(SentencePiece-style BPE) and 'gpt2' (byte-level BPE)"));
  }
  SpmNormalizer normalizer;
  normalizer.add_dummy_prefix = vocab->add_space_prefix;
  normalizer.remove_extra_whitespaces = vocab->remove_extra_whitespaces;
  auto spm = SpmBpeTokenizer::Create(std::move(vocab->entries), vocab->special,
                                     normalizer);
  if (!spm.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", spm.status().message()));
  }
  id.byte_fallback = (*spm)->byte_fallback();
  loaded.tokenizer = *std::move(spm);
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
    const std::string& path, absl::string_view expected_sha256) {
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
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer model ", path,
        " is JSON (a Hugging Face tokenizer.json?): not supported yet; give "
        "a SentencePiece .model or a GGUF file"));
  }
  return LoadSentencePiece(path, expected_sha256);
}

}  // namespace fm::tokenizer
