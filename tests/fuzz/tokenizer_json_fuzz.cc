// FuzzTokenizerJson: bytes -> ParseHfTokenizer -> encode and decode.
#include "tests/fuzz/tokenizer_json_fuzz.h"

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/tokenizer/hf_tokenizer_json.h"

namespace fm::fuzz {

int FuzzTokenizerJson(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr absl::string_view kSeparator = "\n--config--\n";
  const size_t cut = input.find(kSeparator);
  const absl::string_view tokenizer_json = input.substr(0, cut);
  const absl::string_view config =
      cut == absl::string_view::npos ? absl::string_view()
                                     : input.substr(cut + kSeparator.size());
  auto parsed = tokenizer::ParseHfTokenizer(tokenizer_json, config);
  if (!parsed.ok()) return 0;
  const tokenizer::Tokenizer& tok = *parsed->tokenizer;
  for (const char* text :
       {"", " ", "Once upon a time", "  two  spaces ", "caf\xC3\xA9 \xE4\xB8\xAD",
        "\xF0\x9F\x98\x80\n\t<s><|eot|><tool>", "12345 abc\r\n"}) {
    for (bool special : {false, true}) {
      auto ids = tok.Encode(text, {true, true, special});
      if (ids.ok()) (void)tok.Decode(*ids);
    }
  }
  std::vector<TokenId> all;
  for (TokenId id = 0; id < tok.vocab_size() && id < 4096; ++id) {
    all.push_back(id);
    (void)tok.Decode({id});
  }
  (void)tok.Decode(all);
  return 0;
}

}  // namespace fm::fuzz
