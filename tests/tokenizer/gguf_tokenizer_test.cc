// Tokenizers from GGUF vocabularies (tokenizer.ggml.model = "llama"):
// llama.cpp's own test vectors, agreement with SentencePiece on the same
// vocabulary (real files and a hermetic trained one), and hostile files.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/text/byte_level.h"
#include "common/text/incremental_decoder.h"
#include "common/text/regex.h"
#include "common/utf8.h"
#include "services/tokenizer/gguf_pre_tokenizers.h"
#include "services/tokenizer/pre_tokenizer.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "services/tokenizer/tokenizer_file.h"
#include "tests/support/gguf_writer.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/tiny_tokenizer.h"
#include "tests/tokenizer/vocab_test_data.h"

namespace fm::tokenizer {
namespace {

using ::fm::testing::GgufWriter;

LoadedTokenizer LoadOrFail(const std::string& path) {
  auto loaded = LoadTokenizerFile(path);
  INFO(path << ": " << loaded.status().ToString());
  REQUIRE(loaded.ok());
  return *std::move(loaded);
}

// Every text encodes to the same ids under both, and those ids decode to
// the same text.
void ExpectSameIds(const Tokenizer& want, const Tokenizer& got,
                   const std::vector<std::string>& texts,
                   const EncodeOptions& options = {}) {
  int mismatches = 0;
  for (const std::string& text : texts) {
    auto a = want.Encode(text, options);
    auto b = got.Encode(text, options);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    if (*a != *b && ++mismatches <= 5) {
      UNSCOPED_INFO("ids differ for '" << text << "'");
    }
    auto da = want.Decode(*a);
    auto db = got.Decode(*a);
    REQUIRE(da.ok());
    REQUIRE(db.ok());
    if (*da != *db && ++mismatches <= 5) {
      UNSCOPED_INFO("decodes differ for '" << text << "'");
    }
  }
  CHECK(mismatches == 0);
}

// Encodes every case; CHECKs the ids (and, when `lossless`, that they
// decode back to the text). Returns how many cases matched.
int MatchVectors(const Tokenizer& tok,
                 const std::vector<std::pair<std::string, std::vector<TokenId>>>& cases,
                 bool lossless) {
  int equal = 0;
  for (const auto& [text, want] : cases) {
    auto got = tok.Encode(text, {});
    REQUIRE(got.ok());
    INFO("'" << text << "'");
    CHECK(*got == want);
    equal += *got == want;
    if (lossless) {
      auto decoded = tok.Decode(*got);
      REQUIRE(decoded.ok());
      CHECK(*decoded == text);
    }
  }
  return equal;
}

TEST_CASE("GGUF Llama vocabulary reproduces llama.cpp's test vectors",
          "[tokenizer][gguf][models]") {
  const std::string gguf = testing::ModelFile("ggml-vocab-llama-spm.gguf");
  const std::string inp = testing::ModelFile("ggml-vocab-llama-spm.gguf.inp");
  const std::string out = testing::ModelFile("ggml-vocab-llama-spm.gguf.out");
  FM_REQUIRE_FILE_OR_SKIP(gguf, "ggml-vocab-llama-spm.gguf");
  FM_REQUIRE_FILE_OR_SKIP(inp, "ggml-vocab-llama-spm.gguf.inp");
  FM_REQUIRE_FILE_OR_SKIP(out, "ggml-vocab-llama-spm.gguf.out");
  LoadedTokenizer loaded = LoadOrFail(gguf);
  CHECK(loaded.identity.format == "gguf");
  CHECK(loaded.identity.model_type == "llama");
  CHECK(loaded.tokenizer->vocab_size() == 32000);
  const auto cases = testing::ReadVocabVectors(inp, out);
  REQUIRE(cases.size() >= 40);
  CHECK(MatchVectors(*loaded.tokenizer, cases, /*lossless=*/false) ==
        static_cast<int>(cases.size()));
}

TEST_CASE("GGUF vocabularies encode as SentencePiece does on the same one",
          "[tokenizer][gguf][models]") {
  // stories260K.gguf carries tok512's vocabulary without its
  // remove_extra_whitespaces flag: it matches the keep-whitespace model.
  const std::pair<const char*, const char*> pairs[] = {
      {"stories260K.gguf", "tok512-keepws.model"},
      {"ggml-vocab-llama-spm.gguf", "llama2-tokenizer.model"}};
  for (const auto& [gguf_name, model_name] : pairs) {
    const std::string gguf = testing::ModelFile(gguf_name);
    const std::string model = testing::ModelFile(model_name);
    FM_REQUIRE_FILE_OR_SKIP(gguf, gguf_name);
    FM_REQUIRE_FILE_OR_SKIP(model, model_name);
    INFO(gguf_name << " vs " << model_name);
    auto sp = SentencePieceTokenizer::Load(model);
    REQUIRE(sp.ok());
    LoadedTokenizer loaded = LoadOrFail(gguf);
    ExpectSameIds(**sp, *loaded.tokenizer, testing::RandomTexts(1500, 11));
    // As generated text (no dummy prefix): SentencePiece itself with its
    // add_dummy_prefix off is the reference.
    EncodeOptions continuation;
    continuation.continuation = true;
    ExpectSameIds(**sp, *loaded.tokenizer, testing::RandomTexts(500, 12),
                  continuation);
  }
}

TEST_CASE("a GGUF written from a trained tokenizer encodes as SentencePiece",
          "[tokenizer][gguf]") {
  const std::string model = testing::TinyIdentityTokenizerModel();
  if (model.empty()) {
    testing::ReportSkip("spm_train is not installed");
    return;
  }
  auto sp = SentencePieceTokenizer::Load(model);
  REQUIRE(sp.ok());
  // The trained model's normalizer settings travel in the GGUF's flags.
  GgufWriter w;
  testing::GgufVocabOptions options;
  options.add_space_prefix = (*sp)->proto_info().add_dummy_prefix;
  options.remove_extra_whitespaces =
      (*sp)->proto_info().remove_extra_whitespaces;
  testing::AddGgufVocabulary(**sp, options, &w);
  const std::string path = testing::MakeTempDir() + "/tiny-vocab.gguf";
  REQUIRE(w.Write(path).ok());
  LoadedTokenizer loaded = LoadOrFail(path);
  CHECK(loaded.identity.byte_fallback);
  ExpectSameIds(**sp, *loaded.tokenizer, testing::RandomTexts(2000, 5));
  // BOS/EOS as asked.
  auto ids = loaded.tokenizer->Encode("a", {true, true});
  REQUIRE(ids.ok());
  CHECK(ids->front() == (*sp)->special_ids().bos);
  CHECK(ids->back() == (*sp)->special_ids().eos);
}

// A GGUF file from `w` in a temporary directory.
std::string WriteTemp(const GgufWriter& w, const std::string& name) {
  const std::string path = testing::MakeTempDir() + "/" + name;
  REQUIRE(w.Write(path).ok());
  return path;
}

GgufWriter SmallVocab() {
  GgufWriter w;
  w.AddString("tokenizer.ggml.model", "llama");
  return w;
}

TEST_CASE("hostile GGUF vocabularies are refused naming what is wrong",
          "[tokenizer][gguf]") {
  struct Case {
    std::string name;
    GgufWriter file;
    std::string message;
  };
  std::vector<Case> cases;
  {
    GgufWriter w;
    w.AddString("general.architecture", "llama");
    cases.push_back({"no tokenizer", w, "carries no tokenizer"});
  }
  {
    GgufWriter w = SmallVocab();
    w.AddString("tokenizer.ggml.tokens", "abc");
    cases.push_back({"tokens not an array", w, "tokens"});
  }
  {
    GgufWriter w = SmallVocab();
    w.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
    w.AddFloat32Array("tokenizer.ggml.scores", {0.0f});
    cases.push_back({"scores too short", w, "scores"});
  }
  {
    GgufWriter w = SmallVocab();
    w.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
    w.AddInt32Array("tokenizer.ggml.token_type", {1, 9});
    cases.push_back({"token type 9", w, "token_type[1]"});
  }
  {
    GgufWriter w = SmallVocab();
    w.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
    w.AddUint32("tokenizer.ggml.bos_token_id", 99);
    cases.push_back({"bos out of range", w, "bos_token_id"});
  }
  {
    GgufWriter w = SmallVocab();
    w.AddStringArray("tokenizer.ggml.tokens", {"a", "b", "a"});
    cases.push_back({"duplicate piece", w, "appears twice"});
  }
  {
    GgufWriter w;
    w.AddString("tokenizer.ggml.model", "bert");
    w.AddStringArray("tokenizer.ggml.tokens", {"a"});
    cases.push_back({"unsupported model", w, "'bert'"});
  }
  {
    GgufWriter w = SmallVocab();
    w.AddStringArray("tokenizer.ggml.tokens", {});
    cases.push_back({"empty vocabulary", w, "1 to"});
  }
  for (const Case& c : cases) {
    INFO(c.name);
    auto loaded = LoadTokenizerFile(WriteTemp(c.file, "bad.gguf"));
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(loaded.status().message()),
               Catch::Contains(c.message));
  }

  // Truncated: DATA_LOSS at every cut of the metadata.
  GgufWriter good = SmallVocab();
  good.AddStringArray("tokenizer.ggml.tokens", {"a", "b", "\xE2\x96\x81" "a"});
  good.AddFloat32Array("tokenizer.ggml.scores", {0.0f, 0.0f, 1.0f});
  const std::string bytes = good.Serialize();
  const std::string path = testing::MakeTempDir() + "/cut.gguf";
  for (size_t cut = 4; cut + 32 < bytes.size(); cut += 3) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(cut));
    auto loaded = LoadTokenizerFile(path);
    INFO("cut at " << cut << ": " << loaded.status().ToString());
    REQUIRE_FALSE(loaded.ok());
  }
  // The whole file loads; a wrong pin does not; JSON goes to the
  // tokenizer.json reader (by content, whatever the name).
  const std::string whole = WriteTemp(good, "good.gguf");
  REQUIRE(LoadTokenizerFile(whole).ok());
  CHECK(LoadTokenizerFile(whole, std::string(64, '0')).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  const std::string json = testing::MakeTempDir() + "/tok.model";
  std::ofstream(json) << "  {\"model\": {\"type\": \"Unigram\"}}";
  auto unigram = LoadTokenizerFile(json);
  CHECK_THAT(std::string(unigram.status().message()),
             Catch::Contains("model.type: 'Unigram' is not supported"));
  CHECK(LoadTokenizerFile("/nonexistent/tok.model").status().code() ==
        absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fm::tokenizer

namespace fm::tokenizer {
namespace {

TEST_CASE("GGUF GPT-2 vocabulary reproduces llama.cpp's test vectors",
          "[tokenizer][gguf][models]") {
  const std::string gguf = testing::ModelFile("ggml-vocab-gpt-2.gguf");
  const std::string inp = testing::ModelFile("ggml-vocab-gpt-2.gguf.inp");
  const std::string out = testing::ModelFile("ggml-vocab-gpt-2.gguf.out");
  FM_REQUIRE_FILE_OR_SKIP(gguf, "ggml-vocab-gpt-2.gguf");
  FM_REQUIRE_FILE_OR_SKIP(inp, "ggml-vocab-gpt-2.gguf.inp");
  FM_REQUIRE_FILE_OR_SKIP(out, "ggml-vocab-gpt-2.gguf.out");
  LoadedTokenizer loaded = LoadOrFail(gguf);
  CHECK(loaded.identity.model_type == "gpt2");
  CHECK(loaded.identity.pre_tokenizer == "gpt-2");
  CHECK(loaded.identity.byte_level);
  const auto cases = testing::ReadVocabVectors(inp, out);
  REQUIRE(cases.size() >= 40);
  // Byte-level BPE is lossless.
  CHECK(MatchVectors(*loaded.tokenizer, cases, /*lossless=*/true) ==
        static_cast<int>(cases.size()));
}

TEST_CASE("byte-level decoding streams whole characters",
          "[tokenizer][gguf][models]") {
  const std::string gguf = testing::ModelFile("ggml-vocab-gpt-2.gguf");
  FM_REQUIRE_FILE_OR_SKIP(gguf, "ggml-vocab-gpt-2.gguf");
  LoadedTokenizer loaded = LoadOrFail(gguf);
  const Tokenizer& tok = *loaded.tokenizer;
  for (const std::string& text : testing::RandomTexts(500, 3)) {
    auto ids = tok.Encode(text, {});
    REQUIRE(ids.ok());
    auto decoded = tok.Decode(*ids);
    REQUIRE(decoded.ok());
    INFO("'" << text << "'");
    CHECK(*decoded == text);
    testing::StreamOneByOne(tok, *ids);
  }
  // Arbitrary id sequences end inside characters and hold stray bytes.
  uint32_t state = 99;
  for (int c = 0; c < 500; ++c) {
    std::vector<TokenId> ids;
    for (int n = 1 + c % 9; n > 0; --n) {
      state = state * 1664525u + 1013904223u;
      ids.push_back(static_cast<TokenId>((state >> 8) % tok.vocab_size()));
    }
    testing::StreamOneByOne(tok, ids);
  }
}

// The words `text` splits into under GGUF pre-tokenizer `pre`'s regexes
// (before ByteLevel rewrites them).
std::vector<std::string> SplitByPreset(absl::string_view pre,
                                       absl::string_view text) {
  std::vector<std::unique_ptr<PreTokenizerStep>> steps;
  const std::vector<std::string> regexes = GgufPreTokenizerRegexes(pre).value();
  for (const std::string& r : regexes) {
    steps.push_back(SplitStep(text::Regex::Create(r).value(),
                              SplitBehavior::kIsolated, false));
  }
  std::vector<std::string> words;
  for (const Word& w : PreTokenizer(std::move(steps)).Split(text, true)) {
    words.push_back(w.text);
  }
  return words;
}

TEST_CASE("pre-tokenizer regexes split as the models declare",
          "[tokenizer]") {
  using Words = std::vector<std::string>;
  CHECK(SplitByPreset("gpt-2", "Hello world's 123  x") ==
        Words{"Hello", " world", "'s", " 123", " ", " x"});
  CHECK(SplitByPreset("llama-bpe", "I'M 12345\n\nok") ==
        Words{"I", "'M", " ", "123", "45", "\n\n", "ok"});
  CHECK(SplitByPreset("qwen2", "a 42") == Words{"a", " ", "4", "2"});
  // Non-ASCII letters are letters.
  CHECK(SplitByPreset("gpt-2", "caf\xC3\xA9 \xD0\x9C\xD0\xB8\xD1\x80") ==
        Words{"caf\xC3\xA9", " \xD0\x9C\xD0\xB8\xD1\x80"});
  auto unknown = GgufPreTokenizer("no-such-model");
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(unknown.status().message()),
             Catch::Contains("no-such-model"));
  auto bad = text::Regex::Create("(unclosed");
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  // An empty match splits nothing.
  CHECK(text::Regex::Create("x*").value()->FindAll("abc").empty());
}

TEST_CASE("byte-level alphabet round trip", "[tokenizer]") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string level = text::BytesToByteLevel(all);
  CHECK(ValidateUtf8(level, "level").ok());
  std::string back;
  REQUIRE(text::ByteLevelToBytes(level, &back));
  CHECK(back == all);
  CHECK(text::BytesToByteLevel(" ") == "\xC4\xA0");  // "Ġ"
  CHECK_FALSE(text::ByteLevelToBytes("\xE2\x96\x81", &back));  // not in it
}

}  // namespace
}  // namespace fm::tokenizer
