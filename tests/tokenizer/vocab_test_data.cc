// Tokenizer test data: vector files, random texts, GGUF vocabularies.
#include "tests/tokenizer/vocab_test_data.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/text/incremental_decoder.h"
#include "common/utf8.h"

namespace fm::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// llama.cpp's token type numbers.
int32_t GgufTokenType(text::PieceType type) {
  switch (type) {
    case text::PieceType::kNormal:
      return 1;
    case text::PieceType::kUnknown:
      return 2;
    case text::PieceType::kControl:
      return 3;
    case text::PieceType::kUserDefined:
      return 4;
    case text::PieceType::kUnused:
      return 5;
    case text::PieceType::kByte:
      return 6;
  }
  return 1;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<TokenId>>> ReadVocabVectors(
    const std::string& inp_path, const std::string& out_path) {
  std::vector<std::string> texts =
      absl::StrSplit(Slurp(inp_path), "\n__ggml_vocab_test__\n");
  if (!texts.empty() && texts.back().empty()) texts.pop_back();
  std::vector<std::string> lines = absl::StrSplit(Slurp(out_path), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<std::pair<std::string, std::vector<TokenId>>> cases;
  if (texts.size() != lines.size()) return cases;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<TokenId> ids;
    for (absl::string_view s : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
      int32_t id;
      if (!absl::SimpleAtoi(s, &id)) return {};
      ids.push_back(id);
    }
    cases.emplace_back(texts[i], std::move(ids));
  }
  return cases;
}

std::vector<std::string> RandomTexts(int count, uint32_t seed) {
  static const char* const kAtoms[] = {
      "Once", "upon", "a", "time", "the", "little", "girl", "Lily", "ball",
      "Hello", "World", "don't", "I'm", "we'll", "HTTP", "x", "Z",
      "0", "7", "42", "1234567", "3.14", "2024-12-01",
      " ", " ", " ", "  ", "   ", "    ", "\t", "\n", "\n\n", " \n ", "\r\n",
      ".", ",", "!", "?", ";", ":", "\"", "'", "(", ")", "[", "]", "{", "}",
      "-", "--", "_", "/", "\\", "#", "$", "%", "&", "*", "+", "=", "<", ">",
      "@", "^", "`", "|", "~",
      "caf\xC3\xA9", "na\xC3\xAFve", "\xC3\xBC" "ber", "Stra\xC3\x9F" "e",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82",      // Привет
      "\xE4\xB8\xAD\xE6\x96\x87",                              // 中文
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",                  // 日本語
      "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",                  // 한국어
      "\xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9",  // العربية
      "\xF0\x9F\x98\x80", "\xF0\x9F\xA6\x99", "\xE2\x9C\x85",
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",  // ZWJ sequence
      "e\xCC\x81",                                      // e + combining acute
      "\xC2\xA0", "\xE2\x96\x81",                       // NBSP, "▁" itself
      "<s>", "</s>", "<unk>", "<|eot_id|>", "<|im_end|>", "<0x41>",
      "def f(x):\n    return x", "int main() { return 0; }",
  };
  constexpr size_t kN = sizeof(kAtoms) / sizeof(kAtoms[0]);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> atom(0, kN - 1);
  std::uniform_int_distribution<int> length(0, 12);
  std::vector<std::string> texts;
  texts.reserve(count);
  for (int i = 0; i < count; ++i) {
    std::string t;
    for (int n = length(rng); n > 0; --n) t += kAtoms[atom(rng)];
    texts.push_back(std::move(t));
  }
  return texts;
}

int StreamOneByOne(const text::Detokenizer& tok,
                   const std::vector<TokenId>& ids) {
  text::IncrementalDecoder decoder(&tok);
  std::string streamed;
  int max_held = 0;
  for (TokenId id : ids) {
    auto delta = decoder.Add({id});
    REQUIRE(delta.ok());
    CHECK(ValidateUtf8(*delta, "delta").ok());
    streamed += *delta;
    max_held = std::max(max_held, decoder.held_ids());
  }
  auto rest = decoder.Flush();
  REQUIRE(rest.ok());
  streamed += *rest;
  auto whole = tok.Decode(ids);
  REQUIRE(whole.ok());
  CHECK(streamed == *whole);
  return max_held;
}

void AddGgufVocabulary(const text::Detokenizer& vocab,
                       const GgufVocabOptions& options, GgufWriter* w) {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (TokenId id = 0; id < vocab.vocab_size(); ++id) {
    const text::VocabEntry& e = vocab.entry(id);
    pieces.push_back(e.piece);
    scores.push_back(e.score);
    types.push_back(GgufTokenType(e.type));
  }
  w->AddString("tokenizer.ggml.model", options.model);
  w->AddStringArray("tokenizer.ggml.tokens", pieces);
  w->AddFloat32Array("tokenizer.ggml.scores", scores);
  w->AddInt32Array("tokenizer.ggml.token_type", types);
  const text::SpecialIds special = vocab.special_ids();
  if (special.bos >= 0) w->AddUint32("tokenizer.ggml.bos_token_id", special.bos);
  if (special.eos >= 0) w->AddUint32("tokenizer.ggml.eos_token_id", special.eos);
  if (special.unk >= 0) {
    w->AddUint32("tokenizer.ggml.unknown_token_id", special.unk);
  }
  w->AddBool("tokenizer.ggml.add_space_prefix", options.add_space_prefix);
  w->AddBool("tokenizer.ggml.remove_extra_whitespaces",
             options.remove_extra_whitespaces);
}

}  // namespace fm::testing
