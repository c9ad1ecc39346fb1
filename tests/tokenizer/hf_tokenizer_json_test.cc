// ParseHfTokenizer on small tokenizer.json files built here: each pipeline
// component's semantics, special tokens, and hostile files refused with a
// message naming what is wrong.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/text/byte_level.h"
#include "services/tokenizer/hf_tokenizer_json.h"

namespace fm::tokenizer {
namespace {

using nlohmann::json;
using Ids = std::vector<TokenId>;

// A byte-level BPE tokenizer.json: the 256 byte-level characters (ids
// 0-255, in byte order), merges " t", "he", " the", and added tokens.
json ByteLevelJson() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) {
    vocab[text::BytesToByteLevel(std::string(1, static_cast<char>(b)))] = b;
  }
  vocab["\xC4\xA0t"] = 256;       // "Ġt"
  vocab["he"] = 257;
  vocab["\xC4\xA0the"] = 258;     // "Ġthe"
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 259}, {"content", "<|eot|>"}, {"special", true}},
        {{"id", 260},
         {"content", "<tool>"},
         {"special", false},
         {"lstrip", true}},
        {{"id", 261}, {"content", "<bos>"}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", R"( ?\p{L}+| ?\p{N}|\s+)"}}},
           {"behavior", "Isolated"}},
          {{"type", "ByteLevel"},
           {"add_prefix_space", false},
           {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({json{{"SpecialToken", {{"id", "<bos>"}}}},
                                json{{"Sequence", {{"id", "A"}}}}})}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"\xC4\xA0 t", "h e", "\xC4\xA0t he"}}}},
  };
}

HfTokenizer MustParse(const json& tokenizer, const json& config = nullptr) {
  auto parsed = ParseHfTokenizer(tokenizer.dump(),
                                 config.is_null() ? "" : config.dump());
  INFO(parsed.status());
  REQUIRE(parsed.ok());
  return *std::move(parsed);
}

std::string ParseError(const json& tokenizer) {
  auto parsed = ParseHfTokenizer(tokenizer.dump(), "");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST_CASE("tokenizer.json byte-level BPE merges by rank", "[tokenizer]") {
  HfTokenizer hf = MustParse(ByteLevelJson());
  const Tokenizer& tok = *hf.tokenizer;
  CHECK(tok.vocab_size() == 262);
  CHECK(hf.byte_level);
  CHECK(hf.pre_tokenizer == "Split,ByteLevel");
  CHECK(hf.add_bos);  // from the post-processor's template
  CHECK(tok.special_ids().bos == 261);
  // "the" alone: 't' + "he" (no merge "t he"); " the": "Ġthe".
  CHECK(tok.Encode("the", {}).value() == Ids{'t', 257});
  CHECK(tok.Encode(" the", {}).value() == Ids{258});
  CHECK(tok.Encode(" the", {true, false}).value() == Ids{261, 258});
  CHECK(tok.Decode(tok.Encode("caf\xC3\xA9 the\n", {}).value()).value() ==
        "caf\xC3\xA9 the\n");
}

TEST_CASE("tokenizer.json special tokens are text unless parse_special",
          "[tokenizer]") {
  HfTokenizer hf = MustParse(ByteLevelJson());
  const Tokenizer& tok = *hf.tokenizer;
  const Ids as_text = tok.Encode("<|eot|>", {}).value();
  CHECK(as_text.size() == 7);  // '<', '|', 'e', 'o', 't', '|', '>'
  CHECK(tok.Encode("<|eot|>", {false, false, true}).value() == Ids{259});
  CHECK(tok.Encode("a<|eot|>b", {false, false, true}).value() ==
        Ids{'a', 259, 'b'});
  // A non-special added token is always recognised; lstrip swallows the
  // spaces before it.
  CHECK(tok.Encode("a  <tool>b", {}).value() == Ids{'a', 260, 'b'});
  // Control ids decode to nothing; the added token to its text.
  CHECK(tok.Decode({'a', 259, 260}).value() == "a<tool>");
}

TEST_CASE("tokenizer_config.json names the special tokens", "[tokenizer]") {
  json config = {{"bos_token", "<bos>"},
                 {"eos_token", {{"content", "<|eot|>"}}},
                 {"add_bos_token", false},
                 {"chat_template", "{{ messages }}"}};
  HfTokenizer hf = MustParse(ByteLevelJson(), config);
  CHECK(hf.tokenizer->special_ids().eos == 259);
  CHECK(hf.tokenizer->special_ids().end_of_generation == Ids{259});
  CHECK_FALSE(hf.add_bos);
  CHECK(hf.chat_template == "{{ messages }}");
  // End-of-turn tokens join EOS in the end-of-generation set.
  json t = ByteLevelJson();
  t["added_tokens"].push_back({{"id", 262}, {"content", "<|im_end|>"}, {"special", true}});
  t["model"]["vocab"]["xyz"] = 263;
  CHECK(MustParse(t, config).tokenizer->special_ids().end_of_generation == Ids{259, 262});
  config["eos_token"] = "<nope>";
  auto bad = ParseHfTokenizer(ByteLevelJson().dump(), config.dump());
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("'<nope>' is not a token"));
}

// A SentencePiece-style tokenizer.json (Llama 2 / Gemma): "▁" for spaces,
// byte fallback, merges.
json SpmJson() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  int id = 259;
  for (const char* p : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab",
                        "\xE2\x96\x81" "ab"}) {
    vocab[p] = id++;
  }
  return {
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
        {{"id", 1}, {"content", "<s>"}, {"special", true}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"merges", {"\xE2\x96\x81 a", "a b", "\xE2\x96\x81 ab"}}}},
  };
}

TEST_CASE("tokenizer.json SentencePiece-style BPE with byte fallback",
          "[tokenizer]") {
  HfTokenizer hf = MustParse(SpmJson());
  const Tokenizer& tok = *hf.tokenizer;
  CHECK_FALSE(hf.byte_level);
  CHECK(hf.byte_fallback);
  CHECK(hf.strip_leading_space);
  // "ab": "▁" + "a" merges first (rank 0), so "▁a" "b".
  CHECK(tok.Encode("ab", {}).value() == Ids{262, 261});
  // "é" is no piece: its two bytes.
  CHECK(tok.Encode("\xC3\xA9", {}).value() == Ids{259, 3 + 0xC3, 3 + 0xA9});
  CHECK(tok.Decode(tok.Encode("ab a\xC3\xA9", {}).value()).value() == "ab a\xC3\xA9");
  // Without byte fallback an unknown run is one unk (fuse_unk).
  json no_fallback = SpmJson();
  no_fallback["model"]["byte_fallback"] = false;
  CHECK(MustParse(no_fallback).tokenizer->Encode("\xC3\xA9\xC3\xA9", {}).value() ==
        Ids{259, 0});
}

TEST_CASE("tokenizer.json pre-tokenizer steps and split behaviors",
          "[tokenizer]") {
  auto words = [](json pre, const std::string& input) {
    json t = ByteLevelJson();
    t["pre_tokenizer"] = pre;
    t["decoder"] = {{"type", "ByteLevel"}};
    HfTokenizer hf = MustParse(t);
    // Every byte is a piece, so the ids spell the words; words are
    // reassembled from where merges could not cross (none here).
    return hf.tokenizer->Encode(input, {}).value().size();
  };
  // Merges never cross words: with "Removed" the spaces vanish.
  json removed = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Removed"}};
  CHECK(words(removed, "a b c") == 3);
  json digits = {{"type", "Digits"}, {"individual_digits", true}};
  CHECK(words(digits, "a12") == 3);
  json metaspace = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "first"}};
  CHECK(words(metaspace, "a b") == 4);  // "_a", "_b"
}

TEST_CASE("hostile tokenizer.json files are refused naming what is wrong",
          "[tokenizer]") {
  const std::string good = ByteLevelJson().dump();
  // Every truncation fails cleanly (or, whole, loads).
  for (size_t cut = 0; cut < good.size(); cut += 97) {
    auto parsed = ParseHfTokenizer(good.substr(0, cut), "");
    REQUIRE_FALSE(parsed.ok());
  }
  CHECK_THAT(std::string(ParseHfTokenizer("{\"model\": ", "").status().message()),
             Catch::Contains("not valid JSON"));
  CHECK_THAT(std::string(ParseHfTokenizer("[1, 2]", "").status().message()),
             Catch::Contains("not a JSON object"));
  // Deep nesting is refused before any parser recurses.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_THAT(std::string(ParseHfTokenizer(deep, "").status().message()),
             Catch::Contains("nests deeper than 64"));
  CHECK_THAT(std::string(ParseHfTokenizer("{\"a\":" + deep + "}", "").status().message()),
             Catch::Contains("nests deeper"));

  json t = ByteLevelJson();
  t["model"]["type"] = "WordPiece";
  CHECK_THAT(ParseError(t), Catch::Contains("model.type: 'WordPiece' is not supported"));
  t = ByteLevelJson();
  t["normalizer"] = {{"type", "BertNormalizer"}};
  CHECK_THAT(ParseError(t), Catch::Contains("normalizer type 'BertNormalizer' is not supported"));
  t = ByteLevelJson();
  t["pre_tokenizer"]["pretokenizers"][1] = {{"type", "UnicodeScripts"}};
  CHECK_THAT(ParseError(t), Catch::Contains("pre_tokenizer.pretokenizers[1]: pre-tokenizer "
                                            "type 'UnicodeScripts' is not supported"));
  t = ByteLevelJson();
  t["decoder"] = {{"type", "WordPiece"}};
  CHECK_THAT(ParseError(t), Catch::Contains("decoder type 'WordPiece' is not supported"));
  t = ByteLevelJson();
  t["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {
      {"Regex", "(unclosed"}};
  CHECK_THAT(ParseError(t), Catch::Contains("does not compile"));
  t = ByteLevelJson();
  t["model"]["merges"].push_back("q zz");
  CHECK_THAT(ParseError(t), Catch::Contains("names 'zz', which is not in the vocabulary"));
  t = ByteLevelJson();
  t["model"]["merges"].push_back("nospace");
  CHECK_THAT(ParseError(t), Catch::Contains("model.merges[3]"));
  t = ByteLevelJson();
  t["model"]["vocab"]["huge"] = 1 << 30;
  CHECK_THAT(ParseError(t), Catch::Contains("is outside [0, "));
  t = ByteLevelJson();
  t["model"]["vocab"]["neg"] = -1;
  CHECK_THAT(ParseError(t), Catch::Contains("is outside [0, "));
  t = ByteLevelJson();
  t["model"]["vocab"]["gap"] = 300;
  CHECK_THAT(ParseError(t), Catch::Contains("no piece has id 262"));
  t = ByteLevelJson();
  t["model"]["vocab"]["dup"] = 5;
  CHECK_THAT(ParseError(t), Catch::Contains("id 5 is given to both"));
  t = ByteLevelJson();
  t["added_tokens"][0]["content"] = 7;
  CHECK_THAT(ParseError(t), Catch::Contains("added_tokens[0].content: is not a string"));
  t = ByteLevelJson();
  t["model"]["dropout"] = 0.1;
  CHECK_THAT(ParseError(t), Catch::Contains("dropout"));
  t = ByteLevelJson();
  t.erase("decoder");
  CHECK_THAT(ParseError(t), Catch::Contains("decoder: is missing"));
  t = ByteLevelJson();
  t["model"]["vocab"] = json::array();
  CHECK_THAT(ParseError(t), Catch::Contains("model.vocab: is not an object"));
}

}  // namespace
}  // namespace fm::tokenizer
