// OracleTexts: fragments, then mixtures drawn with a fixed seed.
#include "tests/tokenizer/oracle_texts.h"

#include <cstdint>

namespace fm::testing {
namespace {

const std::vector<std::string>& Fragments() {
  static const auto* fragments = new std::vector<std::string>{
      // English prose, contractions, casing.
      "Once upon a time, there was a little girl named Lily.",
      "She didn't know what to do, so she asked her mom.",
      "I'm sure they'LL come; we've waited, haven't we? You'd THINK so.",
      "HELLO World hello WORLD", "The quick brown fox jumps over the lazy dog.",
      "e.g. i.e. etc. Mr. Smith's dog's bone",
      // Other scripts and languages.
      "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81"
      "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xA4\xA9\xE6\xB0\x94\xE5\xBE\x88\xE5\xA5\xBD\xE3\x80\x82",
      "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF\xE3\x80\x81"
      "\xE3\x82\xAB\xE3\x82\xBF\xE3\x82\xAB\xE3\x83\x8A\xE3\x81\xA8\xE6\xBC\xA2\xE5\xAD\x97",
      "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94 \xEC\x84\xB8\xEA\xB3\x84",
      "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85",
      "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD7\xA2\xD7\x95\xD7\x9C\xD7\x9D",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80! "
      "\xD0\x9A\xD0\xB0\xD0\xBA \xD0\xB4\xD0\xB5\xD0\xBB\xD0\xB0?",
      "\xCE\x9A\xCE\xB1\xCE\xBB\xCE\xB7\xCE\xBC\xCE\xAD\xCF\x81\xCE\xB1 \xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xB5",
      "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87 "
      "\xE0\xA4\xA6\xE0\xA5\x81\xE0\xA4\xA8\xE0\xA4\xBF\xE0\xA4\xAF\xE0\xA4\xBE",
      "\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\xB1\xE0\xB8\xAA\xE0\xB8\x94\xE0\xB8\xB5\xE0\xB8\x84"
      "\xE0\xB8\xA3\xE0\xB8\xB1\xE0\xB8\x9A",
      "Ti\xE1\xBA\xBFng Vi\xE1\xBB\x87t c\xC3\xB3 d\xE1\xBA\xA5u",
      "\xC4\xB0stanbul \xC4\xB1\xC4\x9F" "d\xC4\xB1r \xC3\x87ok g\xC3\xBCzel",
      "Stra\xC3\x9F" "e, Gr\xC3\xBC\xC3\x9F" "e, \xC3\x84pfel", "d\xC3\xA9j\xC3\xA0 vu, na\xC3\xAFve caf\xC3\xA9",
      // Combining marks (NFC composes them), full width, symbols.
      "e\xCC\x81t\xC3\xA9 cafe\xCC\x81", "A\xCC\x8A" "ngstr\xC3\xB6m", "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93",
      "\xE2\x88\x91 \xE2\x88\xAB \xE2\x88\x9A x\xC2\xB2 \xE2\x89\xA4 \xCF\x80",
      "\xE2\x82\xAC" "100 \xC2\xA3" "5 \xC2\xA5" "20 $3.50",
      // Emoji, including ZWJ sequences, skin tones and flags.
      "\xF0\x9F\x99\x82", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
      "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\xF0\x9F\x87\xAF\xF0\x9F\x87\xB5", "I \xE2\x9D\xA4\xEF\xB8\x8F code",
      // Code.
      "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
      "{\"key\": [1, 2, 3], \"nested\": {\"ok\": true}}", "https://example.com/path?q=1&r=two#frag",
      "SELECT * FROM users WHERE id = 42;", "x=>x*2 // arrow", "#include <vector>",
      "    indented four", "\t\ttabbed twice",
      // Digits.
      "1234567890", "3.14159265358979", "1,000,000", "2026-12-01T10:35:31Z", "0x1F600",
      "123 4567 89012", "\xD9\xA1\xD9\xA2\xD9\xA3", "\xE0\xA5\xA7\xE0\xA5\xA8\xE0\xA5\xA9",
      // Whitespace runs.
      " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n ", "\t \t", "  \n\n  ",
      "\xC2\xA0", "\xE3\x80\x80", "word  \n",
      // Text that looks like special tokens.
      "<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>user<|end_header_id|>",
      "<|im_start|>system", "<|im_end|>", "<|endoftext|>", "<start_of_turn>model",
      "<end_of_turn>", "<bos>", "<eos>", "<s>", "</s>", "<unk>", "<pad>", "<think>",
      "</think>", "<unused0>", "<mask>", "[multimodal]", "<0x41>", "<|reserved_special_token_5|>",
      "\xE2\x96\x81", "\xC4\xA0", "<|", "|>", "< s >",
  };
  return *fragments;
}

}  // namespace

std::vector<std::string> OracleTexts() {
  std::vector<std::string> texts = Fragments();
  texts.push_back("");
  texts.push_back("  leading spaces");
  texts.push_back("trailing spaces  ");
  texts.push_back("Hello<|eot_id|>world");
  texts.push_back("a<start_of_turn>b<end_of_turn>c");
  texts.push_back("<|im_start|>user\nHi<|im_end|>\n");
  static const char* kSeparators[] = {"", " ", "  ", "\n", "\t", " \n", ""};
  const std::vector<std::string>& f = Fragments();
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  while (texts.size() < 520) {
    std::string t;
    const int parts = 1 + static_cast<int>(next() % 6);
    for (int i = 0; i < parts; ++i) {
      if (i > 0) t += kSeparators[next() % 7];
      t += f[next() % f.size()];
    }
    texts.push_back(std::move(t));
  }
  return texts;
}

}  // namespace fm::testing
