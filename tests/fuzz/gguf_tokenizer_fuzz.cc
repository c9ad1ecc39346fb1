// FuzzGgufTokenizer: GGUF bytes -> gguf::Parse -> ReadGgufVocabulary ->
// SpmBpeTokenizer or ByteLevelBpeTokenizer, then encodes and decodes.
#include "tests/fuzz/gguf_tokenizer_fuzz.h"

#include <memory>
#include <string>
#include <vector>

#include "common/gguf/gguf_file.h"
#include "services/tokenizer/byte_level_bpe_tokenizer.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/regex_pre_tokenizer.h"
#include "services/tokenizer/spm_bpe_tokenizer.h"

namespace fm::fuzz {

int FuzzGgufTokenizer(const uint8_t* data, size_t size) {
  gguf::ParseOptions options;
  options.keep_arrays = true;
  auto parsed = gguf::Parse(data, size, options);
  if (!parsed.ok()) return 0;
  auto vocab = tokenizer::ReadGgufVocabulary(*parsed);
  if (!vocab.ok()) return 0;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (vocab->model == "gpt2") {
    // Any pre-tokenizer name: an unknown one falls back to GPT-2's, so the
    // merges and the byte-level decoding are exercised too.
    auto pre = tokenizer::RegexPreTokenizer::ForGgufPre(vocab->pre);
    if (!pre.ok()) pre = tokenizer::RegexPreTokenizer::ForGgufPre("gpt-2");
    if (!pre.ok()) return 0;
    auto bpe = tokenizer::ByteLevelBpeTokenizer::Create(
        vocab->entries, vocab->merges, vocab->special, *std::move(pre),
        vocab->pre == "llama-bpe");
    if (!bpe.ok()) return 0;
    tok = *std::move(bpe);
  } else {
    tokenizer::SpmNormalizer normalizer;
    normalizer.add_dummy_prefix = vocab->add_space_prefix;
    normalizer.remove_extra_whitespaces = vocab->remove_extra_whitespaces;
    auto spm = tokenizer::SpmBpeTokenizer::Create(vocab->entries,
                                                  vocab->special, normalizer);
    if (!spm.ok()) return 0;
    tok = *std::move(spm);
  }
  for (const char* text :
       {"", " ", "Once upon a time", "  two  spaces ", "caf\xC3\xA9 \xE4\xB8\xAD",
        "\xF0\x9F\x98\x80\n\t<s>"}) {
    auto ids = tok->Encode(text, {true, true});
    if (!ids.ok()) continue;
    (void)tok->Decode(*ids);
  }
  // Every id alone and all of them together decode.
  std::vector<TokenId> all;
  for (TokenId id = 0; id < tok->vocab_size() && id < 4096; ++id) {
    all.push_back(id);
    (void)tok->Decode({id});
  }
  (void)tok->Decode(all);
  return 0;
}

}  // namespace fm::fuzz
