// SentencePieceTokenizer and IncrementalDecoder: on a tokenizer trained by
// the test itself, and on the real Llama 2 and tok512 tokenizers when
// FM_MODELS is set.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "common/text/incremental_decoder.h"
#include "common/text/vocab_detokenizer.h"
#include "common/utf8.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/tiny_tokenizer.h"
#include "tests/tokenizer/vocab_test_data.h"

namespace fm::tokenizer {
namespace {

using ::fm::testing::ModelFile;
using ::fm::testing::TinyTokenizerModel;

std::unique_ptr<SentencePieceTokenizer> LoadOrFail(const std::string& path) {
  auto tok = SentencePieceTokenizer::Load(path);
  INFO(tok.status().ToString());
  REQUIRE(tok.ok());
  return *std::move(tok);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = ::fm::testing::MakeTempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST_CASE("tiny tokenizer round-trips text and uses byte fallback",
          "[tokenizer]") {
  const std::string path = TinyTokenizerModel();
  REQUIRE_FALSE(path.empty());
  auto tok = LoadOrFail(path);
  CHECK(tok->vocab_size() > 259);
  CHECK(tok->special_ids().bos == 1);
  CHECK(tok->special_ids().eos == 2);
  CHECK(tok->proto_info().byte_fallback);
  CHECK(tok->proto_info().model_type == "bpe");

  for (const std::string text :
       {"Once upon a time, Lily saw a big ball.", "h\xC3\xA9llo w\xC3\xB6rld",
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "emoji \xF0\x9F\x98\x80!"}) {
    auto ids = tok->Encode(text, {});
    REQUIRE(ids.ok());
    auto back = tok->Decode(*ids);
    REQUIRE(back.ok());
    CHECK(*back == text);
  }
  // "é" is not in the training text: it must become its two UTF-8 bytes.
  auto ids = tok->Encode("\xC3\xA9", {});
  REQUIRE(ids.ok());
  std::vector<std::string> pieces;
  for (TokenId id : *ids) pieces.push_back(tok->entry(id).piece);
  CHECK(std::find(pieces.begin(), pieces.end(), "<0xC3>") != pieces.end());
  CHECK(std::find(pieces.begin(), pieces.end(), "<0xA9>") != pieces.end());
  for (TokenId id : *ids) {
    if (tok->entry(id).type == text::PieceType::kByte) {
      CHECK(tok->entry(id).text.size() == 1);
    }
  }
}

TEST_CASE("BOS/EOS and empty text", "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  auto empty = tok->Encode("", {});
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  auto bos_only = tok->Encode("", {true, false});
  REQUIRE(bos_only.ok());
  CHECK(*bos_only == std::vector<TokenId>{1});
  auto both = tok->Encode("cat", {true, true});
  REQUIRE(both.ok());
  CHECK(both->front() == 1);
  CHECK(both->back() == 2);
  auto text = tok->Decode(*both);
  REQUIRE(text.ok());
  CHECK(*text == "cat");  // control pieces decode to nothing
}

TEST_CASE("bad input gets INVALID_ARGUMENT naming the problem",
          "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  auto bad_utf8 = tok->Encode("ok\xFFok", {});
  REQUIRE_FALSE(bad_utf8.ok());
  CHECK(bad_utf8.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad_utf8.status().message()),
             Catch::Contains("offset 2"));

  const int32_t v = tok->vocab_size();
  for (TokenId bad : {-1, v, v + 1000}) {
    std::vector<TokenId> ids = {5, bad};
    auto decoded = tok->Decode(ids);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    const std::string msg(decoded.status().message());
    CHECK_THAT(msg, Catch::Contains(std::to_string(bad)));
    CHECK_THAT(msg, Catch::Contains(std::to_string(v)));
  }
}

TEST_CASE("missing, empty, corrupt and mis-pinned model files are refused",
          "[tokenizer]") {
  auto missing = SentencePieceTokenizer::Load("/nonexistent/x.model");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);

  auto empty = SentencePieceTokenizer::Load(WriteFile("empty.model", ""));
  CHECK(empty.status().code() == absl::StatusCode::kDataLoss);

  auto garbage = SentencePieceTokenizer::Load(
      WriteFile("garbage.model", std::string("\xFF\xFF\xFF\x01garbage", 11)));
  CHECK(garbage.status().code() == absl::StatusCode::kDataLoss);

  // A truncated real model.
  const std::string real = Slurp(TinyTokenizerModel());
  auto truncated = SentencePieceTokenizer::Load(
      WriteFile("trunc.model", real.substr(0, real.size() / 2)));
  CHECK_FALSE(truncated.ok());

  auto pinned_wrong =
      SentencePieceTokenizer::Load(TinyTokenizerModel(), std::string(64, '0'));
  CHECK(pinned_wrong.status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(pinned_wrong.status().message()),
             Catch::Contains("sha256 mismatch"));

  auto tok = LoadOrFail(TinyTokenizerModel());
  auto pinned_right =
      SentencePieceTokenizer::Load(TinyTokenizerModel(), tok->sha256());
  CHECK(pinned_right.ok());
}

TEST_CASE("incremental decode never splits a character", "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  for (const std::string text :
       {"h\xC3\xA9llo w\xC3\xB6rld", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
        "emoji \xF0\x9F\x98\x80\xF0\x9F\x8E\x89 ok", "Once upon a time"}) {
    auto ids = tok->Encode(text, {true, false});
    REQUIRE(ids.ok());
    const int max_held = testing::StreamOneByOne(*tok, *ids);
    const bool has_multibyte = text != "Once upon a time";
    // Multi-byte characters arrive as byte pieces: they must be held back.
    CHECK((max_held > 0) == has_multibyte);
  }
}

TEST_CASE("an unfinished character is flushed as U+FFFD like Decode",
          "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  auto ids = tok->Encode("a\xF0\x9F\x98\x80", {});
  REQUIRE(ids.ok());
  ids->pop_back();  // drop the emoji's last byte piece
  text::IncrementalDecoder decoder(tok.get());
  auto delta = decoder.Add(*ids);
  REQUIRE(delta.ok());
  CHECK(*delta == "a");
  CHECK(decoder.held_ids() == 3);
  auto rest = decoder.Flush();
  REQUIRE(rest.ok());
  auto whole = tok->Decode(*ids);
  REQUIRE(whole.ok());
  CHECK(*delta + *rest == *whole);
  CHECK(ValidateUtf8(*rest, "rest").ok());
}

TEST_CASE("incremental decode rejects bad ids and stays usable",
          "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  text::IncrementalDecoder decoder(tok.get());
  CHECK(decoder.Add({tok->vocab_size()}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  auto ok = decoder.Add({5});
  CHECK(ok.ok());
  CHECK(decoder.ids().size() == 1);
}

TEST_CASE("Llama 2 tokenizer: known ids", "[tokenizer][models]") {
  const std::string path = ModelFile("llama2-tokenizer.model");
  FM_REQUIRE_FILE_OR_SKIP(path, "llama2-tokenizer.model");
  auto tok = LoadOrFail(path);
  CHECK(tok->vocab_size() == 32000);
  auto ids = tok->Encode("Once upon a time", {});
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<TokenId>{9038, 2501, 263, 931});
  auto with_bos = tok->Encode("Once upon a time", {true, false});
  REQUIRE(with_bos.ok());
  CHECK(*with_bos == std::vector<TokenId>{1, 9038, 2501, 263, 931});
  CHECK(tok->sha256() ==
        "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347");
}

TEST_CASE("tok512 tokenizer: known ids", "[tokenizer][models]") {
  const std::string path = ModelFile("tok512.model");
  FM_REQUIRE_FILE_OR_SKIP(path, "tok512.model");
  auto tok = LoadOrFail(path);
  CHECK(tok->vocab_size() == 512);
  auto ids = tok->Encode("Once upon a time", {});
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<TokenId>{403, 407, 261, 378});
  // As a continuation the first word has no dummy-prefix space: its ids
  // differ, decode to the text itself, and the rest are unchanged.
  EncodeOptions continuation;
  continuation.continuation = true;
  auto cont = tok->Encode("Once upon a time", continuation);
  REQUIRE(cont.ok());
  CHECK(*cont != *ids);
  CHECK(std::vector<TokenId>(cont->end() - 3, cont->end()) ==
        std::vector<TokenId>{407, 261, 378});
  REQUIRE(!cont->empty());
  CHECK(tok->entry(cont->front()).piece.rfind("\xE2\x96\x81", 0) != 0);
  CHECK(*tok->Decode(*cont) == "Once upon a time");
}

TEST_CASE("Llama 2 tokenizer reproduces llama.cpp's test vectors",
          "[tokenizer][models]") {
  const std::string model = ModelFile("llama2-tokenizer.model");
  const std::string inp = ModelFile("ggml-vocab-llama-spm.gguf.inp");
  const std::string out = ModelFile("ggml-vocab-llama-spm.gguf.out");
  FM_REQUIRE_FILE_OR_SKIP(model, "llama2-tokenizer.model");
  FM_REQUIRE_FILE_OR_SKIP(inp, "ggml-vocab-llama-spm.gguf.inp");
  FM_REQUIRE_FILE_OR_SKIP(out, "ggml-vocab-llama-spm.gguf.out");
  auto tok = LoadOrFail(model);
  const auto cases = testing::ReadVocabVectors(inp, out);
  REQUIRE(cases.size() >= 40);
  for (const auto& [text, want] : cases) {
    auto got = tok->Encode(text, {});
    REQUIRE(got.ok());
    INFO("'" << text << "'");
    CHECK(*got == want);
    testing::StreamOneByOne(*tok, *got);
  }
}

}  // namespace
}  // namespace fm::tokenizer

namespace fm::tokenizer {
namespace {

// Random id sequences rich in byte pieces, control ids and word pieces:
// the local decoder must agree with SentencePiece on every one.
void CheckVocabDecoderAgrees(const SentencePieceTokenizer& sp, int cases) {
  std::vector<text::VocabEntry> entries;
  for (TokenId id = 0; id < sp.vocab_size(); ++id) {
    entries.push_back(sp.entry(id));
  }
  text::VocabDetokenizer local(
      entries, sp.special_ids(),
      {sp.proto_info().add_dummy_prefix,
       sp.proto_info().remove_extra_whitespaces});
  std::vector<TokenId> bytes, others, space_led;
  for (TokenId id = 0; id < sp.vocab_size(); ++id) {
    (sp.entry(id).type == text::PieceType::kByte ? bytes : others).push_back(id);
    if (sp.entry(id).type == text::PieceType::kNormal &&
        sp.entry(id).piece.rfind("\xE2\x96\x81", 0) == 0) {
      space_led.push_back(id);
    }
  }
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  for (int c = 0; c < cases; ++c) {
    std::vector<TokenId> ids;
    // Often several "▁"-led pieces first: how many leading spaces survive
    // depends on the normalizer settings.
    for (int lead = next() % 4; lead > 0 && !space_led.empty(); --lead) {
      ids.push_back(space_led[next() % space_led.size()]);
    }
    const int n = 1 + next() % 12;
    for (int i = 0; i < n; ++i) {
      const uint32_t pick = next() % 10;
      if (pick < 5 && !bytes.empty()) {
        // Bias towards UTF-8 lead and continuation bytes.
        const int byte = (pick < 2) ? 0xC2 + next() % 0x33 : 0x80 + next() % 0x40;
        ids.push_back(bytes[std::min<size_t>(byte, bytes.size() - 1)]);
      } else if (pick == 5) {
        ids.push_back(sp.special_ids().bos);
      } else {
        ids.push_back(others[next() % others.size()]);
      }
    }
    auto want = sp.Decode(ids);
    auto got = local.Decode(ids);
    REQUIRE(want.ok());
    REQUIRE(got.ok());
    INFO("case " << c);
    CHECK(*got == *want);
    // And streaming through the local decoder matches too.
    text::IncrementalDecoder decoder(&local);
    std::string streamed;
    for (TokenId id : ids) streamed += *decoder.Add({id});
    streamed += *decoder.Flush();
    CHECK(streamed == *want);
  }
}

TEST_CASE("local vocabulary decoding equals SentencePiece's", "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  CheckVocabDecoderAgrees(*tok, 2000);
}

TEST_CASE("local vocabulary decoding equals SentencePiece's on real models",
          "[tokenizer][models]") {
  for (const char* name : {"tok512.model", "tok512-keepws.model",
                           "llama2-tokenizer.model"}) {
    const std::string path = ModelFile(name);
    FM_REQUIRE_FILE_OR_SKIP(path, name);
    auto tok = LoadOrFail(path);
    INFO(name);
    CheckVocabDecoderAgrees(*tok, 2000);
  }
}

TEST_CASE("Prime makes later text a continuation", "[tokenizer]") {
  auto tok = LoadOrFail(TinyTokenizerModel());
  auto prompt = tok->Encode("Once upon", {true, false});
  auto more = tok->Encode("Once upon a time", {true, false});
  REQUIRE(prompt.ok());
  REQUIRE(more.ok());
  text::IncrementalDecoder decoder(tok.get());
  REQUIRE(decoder.Prime(*prompt).ok());
  std::string streamed;
  for (size_t i = prompt->size(); i < more->size(); ++i) {
    streamed += *decoder.Add({(*more)[i]});
  }
  streamed += *decoder.Flush();
  CHECK(streamed == " a time");
}

}  // namespace
}  // namespace fm::tokenizer
