// FuzzGgufTokenizer: GGUF bytes -> gguf::Parse -> ReadGgufVocabulary ->
// TokenizerFromGgufVocabulary, then encodes (with and without special
// tokens) and decodes.
#include "tests/fuzz/gguf_tokenizer_fuzz.h"

#include <memory>
#include <string>
#include <vector>

#include "common/gguf/gguf_file.h"
#include "services/tokenizer/gguf_pre_tokenizers.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/gguf_tokenizer.h"

namespace fm::fuzz {

int FuzzGgufTokenizer(const uint8_t* data, size_t size) {
  gguf::ParseOptions options;
  options.keep_arrays = true;
  auto parsed = gguf::Parse(data, size, options);
  if (!parsed.ok()) return 0;
  auto vocab = tokenizer::ReadGgufVocabulary(*parsed);
  if (!vocab.ok()) return 0;
  // Any pre-tokenizer name: an unknown one becomes GPT-2's, so the merges
  // and the byte-level decoding are exercised too.
  if (vocab->model == "gpt2" && !tokenizer::GgufPreTokenizerRegexes(vocab->pre).ok()) {
    vocab->pre = "gpt-2";
  }
  if (vocab->model != "gpt2") vocab->model = "llama";
  auto built = tokenizer::TokenizerFromGgufVocabulary(*std::move(vocab));
  if (!built.ok()) return 0;
  const std::unique_ptr<tokenizer::Tokenizer> tok = *std::move(built);
  for (const char* text :
       {"", " ", "Once upon a time", "  two  spaces ", "caf\xC3\xA9 \xE4\xB8\xAD",
        "\xF0\x9F\x98\x80\n\t<s>"}) {
    for (bool special : {false, true}) {
      auto ids = tok->Encode(text, {true, true, special});
      if (ids.ok()) (void)tok->Decode(*ids);
    }
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
