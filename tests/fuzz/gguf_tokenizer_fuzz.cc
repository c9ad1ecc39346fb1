// FuzzGgufTokenizer: GGUF bytes -> gguf::Parse -> ReadGgufVocabulary ->
// SpmBpeTokenizer, then a few encodes and decodes.
#include "tests/fuzz/gguf_tokenizer_fuzz.h"

#include <string>
#include <vector>

#include "common/gguf/gguf_file.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/spm_bpe_tokenizer.h"

namespace fm::fuzz {

int FuzzGgufTokenizer(const uint8_t* data, size_t size) {
  gguf::ParseOptions options;
  options.keep_arrays = true;
  auto parsed = gguf::Parse(data, size, options);
  if (!parsed.ok()) return 0;
  auto vocab = tokenizer::ReadGgufVocabulary(*parsed);
  if (!vocab.ok()) return 0;
  tokenizer::SpmNormalizer normalizer;
  normalizer.add_dummy_prefix = vocab->add_space_prefix;
  normalizer.remove_extra_whitespaces = vocab->remove_extra_whitespaces;
  auto tok = tokenizer::SpmBpeTokenizer::Create(vocab->entries, vocab->special,
                                                normalizer);
  if (!tok.ok()) return 0;
  for (const char* text :
       {"", " ", "Once upon a time", "  two  spaces ", "caf\xC3\xA9 \xE4\xB8\xAD",
        "\xF0\x9F\x98\x80\n\t<s>"}) {
    auto ids = (*tok)->Encode(text, {true, true});
    if (!ids.ok()) continue;
    (void)(*tok)->Decode(*ids);
  }
  // Every id alone and all of them together decode.
  std::vector<TokenId> all;
  for (TokenId id = 0; id < (*tok)->vocab_size() && id < 4096; ++id) {
    all.push_back(id);
    (void)(*tok)->Decode({id});
  }
  (void)(*tok)->Decode(all);
  return 0;
}

}  // namespace fm::fuzz
