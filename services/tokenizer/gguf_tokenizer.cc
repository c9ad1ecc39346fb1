// TokenizerFromGgufVocabulary: SentencePiece-style BPE as SentencePiece
// runs it, byte-level BPE as the tokenizer.json pipeline it came from.
#include "services/tokenizer/gguf_tokenizer.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/text/byte_level.h"
#include "services/tokenizer/bpe_tokenizer.h"
#include "services/tokenizer/gguf_pre_tokenizers.h"
#include "services/tokenizer/spm_bpe_tokenizer.h"

namespace fm::tokenizer {
namespace {

// A GGUF "gpt2" vocabulary as the tokenizer.json pipeline it was converted
// from: control and user-defined pieces as added tokens, the
// tokenizer.ggml.pre regexes, ByteLevel, the merges.
absl::StatusOr<std::unique_ptr<Tokenizer>> GgufByteLevelBpe(GgufVocabulary vocab) {
  auto pre = GgufPreTokenizer(vocab.pre);
  if (!pre.ok()) return pre.status();
  BpePipeline pipeline;
  pipeline.pre_tokenizer = *std::move(pre);
  absl::flat_hash_map<std::string, TokenId> pieces;
  pieces.reserve(vocab.entries.size());
  const TokenId n = static_cast<TokenId>(vocab.entries.size());
  for (TokenId id = 0; id < n; ++id) {
    text::VocabEntry& e = vocab.entries[id];
    switch (e.type) {
      case text::PieceType::kControl:
        e.text.clear();
        pipeline.added_tokens.push_back({e.piece, id, /*special=*/true});
        continue;
      case text::PieceType::kUserDefined:
        e.text = e.piece;
        pipeline.added_tokens.push_back({e.piece, id, /*special=*/false});
        continue;
      default: {
        // Byte-level pieces decode to their bytes; anything else to itself.
        std::string bytes;
        e.text = text::ByteLevelToBytes(e.piece, &bytes) ? bytes : e.piece;
      }
    }
    if (e.type != text::PieceType::kNormal) continue;
    if (!pieces.emplace(e.piece, id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "piece '", absl::CHexEscape(e.piece.substr(0, 64)), "' (id ", id,
          ") appears twice in the vocabulary"));
    }
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(vocab.merges.size());
  for (size_t i = 0; i < vocab.merges.size(); ++i) {
    const std::string& m = vocab.merges[i];
    if (!SplitMergeLine(m, &merges.emplace_back())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer.ggml.merges[", i, "] '", absl::CHexEscape(m.substr(0, 64)),
          "' is not two pieces separated by one space"));
    }
  }
  BpeOptions options;
  options.unk = vocab.special.unk;
  // Llama 3's tokenizer.json sets ignore_merges (llama.cpp: llama-bpe).
  options.ignore_merges = vocab.pre == "llama-bpe";
  auto model = BpeModel::Create(std::move(pieces), merges, options);
  if (!model.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer.ggml.merges: ", model.status().message()));
  }
  pipeline.model = *std::move(model);
  text::DecodeRules rules;
  rules.add_dummy_prefix = false;
  rules.byte_level = true;
  auto tok = BpeTokenizer::Create(std::move(vocab.entries), vocab.special,
                                  rules, std::move(pipeline));
  if (!tok.ok()) return tok.status();
  return std::unique_ptr<Tokenizer>(*std::move(tok));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGgufVocabulary(
    GgufVocabulary vocab) {
  if (vocab.model == "gpt2") return GgufByteLevelBpe(std::move(vocab));
  if (vocab.model != "llama") {
    return absl::InvalidArgumentError(absl::StrCat(
        "GGUF tokenizer model '", vocab.model,
        "' (tokenizer.ggml.model) is not supported; supported: 'llama' "
        "(SentencePiece-style BPE) and 'gpt2' (byte-level BPE)"));
  }
  SpmNormalizer normalizer;
  normalizer.add_dummy_prefix = vocab.add_space_prefix;
  normalizer.remove_extra_whitespaces = vocab.remove_extra_whitespaces;
  auto spm = SpmBpeTokenizer::Create(std::move(vocab.entries), vocab.special,
                                     normalizer);
  if (!spm.ok()) return spm.status();
  return std::unique_ptr<Tokenizer>(*std::move(spm));
}

}  // namespace fm::tokenizer
