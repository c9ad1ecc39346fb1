// Hugging Face tokenizer.json files (Llama 3, Qwen 3, Gemma 3, Llama 2)
// loaded by fmserve and compared with an independent implementation, the
// @lenml/tokenizers oracle, on 520 texts each: ids with special tokens
// left as text (the default) and parsed (parse_special), and decoding.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/text/vocab_detokenizer.h"
#include "common/utf8.h"
#include "services/tokenizer/chat_template.h"
#include "services/tokenizer/tokenizer_file.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/oracle_texts.h"
#include "tests/tokenizer/tokenizer_oracle.h"
#include "tests/tokenizer/vocab_test_data.h"

namespace fm::tokenizer {
namespace {

using nlohmann::json;

std::string Show(const std::vector<TokenId>& ids) {
  return absl::StrCat("[", absl::StrJoin(ids, ","), "]");
}

// Loads the oracle's own copy of `name`'s files into fmserve and compares
// every text; reports the first few differences in full.
void CompareWithOracle(const std::string& oracle_dir, const std::string& name) {
  const std::vector<std::string> texts = testing::OracleTexts();
  REQUIRE(texts.size() >= 500);
  for (const std::string& t : texts) REQUIRE(ValidateUtf8(t, "text").ok());
  json job = {{"tokenizer", name}, {"texts", texts}};
  auto answer = testing::RunOracle(oracle_dir, job);
  REQUIRE(answer.ok());
  const std::string tokenizer_json = (*answer)["files"]["tokenizer_json"];
  const std::string config = (*answer)["files"]["tokenizer_config"];
  auto loaded = LoadTokenizerFile(tokenizer_json, "", config);
  INFO(name << ": " << loaded.status());
  REQUIRE(loaded.ok());
  const Tokenizer& tok = *loaded->tokenizer;
  CHECK(loaded->identity.format == "tokenizer.json");
  if (name != "llama2") CHECK(!loaded->identity.chat_template.empty());

  int plain_mismatches = 0, special_mismatches = 0, shown = 0;
  std::vector<std::vector<TokenId>> ours;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto plain = tok.Encode(texts[i], {});
    auto special = tok.Encode(texts[i], {false, false, /*parse_special=*/true});
    REQUIRE(plain.ok());
    REQUIRE(special.ok());
    const auto want_plain = (*answer)["encode"][i].get<std::vector<TokenId>>();
    const auto want_special =
        (*answer)["encode_special"][i].get<std::vector<TokenId>>();
    const bool plain_ok = *plain == want_plain;
    const bool special_ok = *special == want_special;
    plain_mismatches += plain_ok ? 0 : 1;
    special_mismatches += special_ok ? 0 : 1;
    if ((!plain_ok || !special_ok) && shown++ < 5) {
      UNSCOPED_INFO(name << " text #" << i << " '" << absl::CHexEscape(texts[i])
                         << "'\n  ours   " << Show(*plain) << "\n  oracle "
                         << Show(want_plain) << "\n  ours (special)   "
                         << Show(*special) << "\n  oracle (special) "
                         << Show(want_special));
    }
    ours.push_back(*plain);
  }
  CHECK(plain_mismatches == 0);
  CHECK(special_mismatches == 0);

  // Decoding: our ids back to text, as the oracle decodes them and (up to
  // the normalizer) as the text was.
  json decode_job = {{"tokenizer", name}, {"decode", ours}};
  auto decoded = testing::RunOracle(oracle_dir, decode_job);
  INFO(decoded.status());
  REQUIRE(decoded.ok());
  int decode_mismatches = 0, lossy = 0;
  std::string details;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto text = tok.Decode(ours[i]);
    REQUIRE(text.ok());
    const std::string want = (*decoded)["decode"][i];
    if (*text != want) {
      ++decode_mismatches;
      if (decode_mismatches <= 5) {
        absl::StrAppend(&details, name, " decode #", i, " ours '",
                        absl::CHexEscape(*text), "' oracle '",
                        absl::CHexEscape(want), "'\n");
      }
    }
    // Byte-level BPE is lossless (up to Qwen's NFC, which composes
    // "e\u0301"); SentencePiece-style BPE writes spaces as "▁", so a "▁"
    // in the text comes back as a space, and Llama 2's decoder drops a
    // leading space.
    const bool may_differ =
        name == "qwen3" || name == "llama2" ||
        (name == "gemma3" && absl::StrContains(texts[i], "\xE2\x96\x81"));
    if (!may_differ && *text != texts[i] && ++lossy <= 5) {
      absl::StrAppend(&details, name, " lossy #", i, " '",
                      absl::CHexEscape(texts[i]), "' -> '",
                      absl::CHexEscape(*text), "'\n");
    }
  }
  INFO(details);
  CHECK(decode_mismatches == 0);

  // Streaming: the gateway's local decoder (a VocabDetokenizer over the
  // exported vocabulary and decode rules) decodes as the tokenizer does,
  // and incremental deltas are whole characters that add up to Decode, on
  // the texts' ids and on random id sequences (byte pieces, control ids,
  // pieces that end inside a character).
  std::vector<text::VocabEntry> exported;
  for (TokenId id = 0; id < tok.vocab_size(); ++id) exported.push_back(tok.entry(id));
  const text::VocabDetokenizer local(
      std::move(exported), tok.special_ids(),
      {loaded->identity.add_dummy_prefix, loaded->identity.remove_extra_whitespaces,
       loaded->identity.byte_level});
  std::mt19937 rng(20261201);
  std::vector<std::vector<TokenId>> sequences = ours;
  for (int i = 0; i < 300; ++i) {
    std::vector<TokenId> ids;
    for (int n = 1 + static_cast<int>(rng() % 40); n > 0; --n) {
      // Low ids hold the byte pieces and specials of these vocabularies.
      ids.push_back(static_cast<TokenId>(rng() % 4 == 0 ? rng() % 512 : rng() % tok.vocab_size()));
    }
    sequences.push_back(std::move(ids));
  }
  int local_mismatches = 0;
  for (const std::vector<TokenId>& ids : sequences) {
    auto want = tok.Decode(ids);
    auto got = local.Decode(ids);
    REQUIRE(want.ok());
    REQUIRE(got.ok());
    local_mismatches += *want != *got;
    testing::StreamOneByOne(local, ids);
  }
  CHECK(local_mismatches == 0);
  CHECK(lossy == 0);
}

// Conversations: with and without a system message, one and several
// turns, whitespace, Unicode, text that looks like special tokens, an
// assistant turn with reasoning; each with and without the generation
// prompt. Roles alternate (Gemma's template insists).
std::vector<json> Conversations() {
  auto msg = [](const char* role, const std::string& content) {
    return json{{"role", role}, {"content", content}};
  };
  const std::vector<std::vector<json>> chats = {
      {msg("user", "Hello!")},
      {msg("system", "You are a helpful assistant."), msg("user", "Hi there")},
      {msg("user", "What is 2+2?"), msg("assistant", "4."), msg("user", "And 3+3?")},
      {msg("system", "Be brief."), msg("user", "Name a color."), msg("assistant", "Blue."),
       msg("user", "Another?")},
      {msg("user", "Tell me a story."), msg("assistant", "Once upon a time...")},
      {msg("system", "You speak French."), msg("user", "Bonjour"),
       msg("assistant", "Bonjour ! Comment puis-je vous aider ?")},
      {msg("user", "a"), msg("assistant", "b"), msg("user", "c"), msg("assistant", "d"),
       msg("user", "e"), msg("assistant", "f")},
      {msg("user", "  padded with spaces \n\n")},
      {msg("system", "  system with spaces  "), msg("user", "\tTabbed\tquestion\n")},
      {msg("user", "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x99\x82 caf\xC3\xA9")},
      {msg("user", "Ignore this: <|eot_id|><|im_end|><end_of_turn><start_of_turn>")},
      {msg("user", "Think first."),
       msg("assistant", "<think>\nThe user wants thought.\n</think>\n\nDone."),
       msg("user", "Thanks")},
      {msg("user", "")},
      {msg("user", "Line one\nLine two\n\nLine four"), msg("assistant", "```\ncode\n```")},
  };
  std::vector<json> out;
  for (const auto& messages : chats) {
    for (bool prompt : {true, false}) {
      out.push_back({{"messages", messages}, {"add_generation_prompt", prompt}});
    }
  }
  return out;
}

// Renders every conversation with fmserve's interpreter and the oracle's.
void CompareChatsWithOracle(const std::string& oracle_dir, const std::string& name) {
  const std::vector<json> chats = Conversations();
  REQUIRE(chats.size() >= 20);
  auto answer = testing::RunOracle(oracle_dir, {{"tokenizer", name}, {"chats", chats}});
  INFO(answer.status());
  REQUIRE(answer.ok());
  auto loaded = LoadTokenizerFile((*answer)["files"]["tokenizer_json"], "",
                                  (*answer)["files"]["tokenizer_config"]);
  REQUIRE(loaded.ok());
  auto chat = ChatTemplate::Create(loaded->identity.chat_template, *loaded->tokenizer);
  INFO(chat.status());
  REQUIRE(chat.ok());
  int mismatches = 0;
  std::string details;
  for (size_t i = 0; i < chats.size(); ++i) {
    ChatRequest request;
    for (const json& m : chats[i]["messages"]) {
      request.messages.push_back({m["role"], m["content"], ""});
    }
    request.add_generation_prompt = chats[i]["add_generation_prompt"];
    auto text = (*chat)->Render(request);
    const std::string want = (*answer)["chats"][i];
    if (!text.ok() || text->text != want) {
      if (++mismatches <= 3) {
        absl::StrAppend(&details, name, " chat #", i, "\n  ours   '",
                        text.ok() ? absl::CHexEscape(text->text) : text.status().ToString(),
                        "'\n  oracle '", absl::CHexEscape(want), "'\n");
      }
    }
  }
  INFO(details);
  CHECK(mismatches == 0);
}

TEST_CASE("Llama 3 chat template renders as the oracle's", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareChatsWithOracle(dir, "llama3");
}

TEST_CASE("Qwen 3 chat template renders as the oracle's", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareChatsWithOracle(dir, "qwen3");
}

TEST_CASE("Gemma 3 chat template renders as the oracle's", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareChatsWithOracle(dir, "gemma3");
}

TEST_CASE("Llama 3 tokenizer.json equals the oracle", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareWithOracle(dir, "llama3");
}

TEST_CASE("Qwen 3 tokenizer.json equals the oracle", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareWithOracle(dir, "qwen3");
}

TEST_CASE("Gemma 3 tokenizer.json equals the oracle", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareWithOracle(dir, "gemma3");
}

TEST_CASE("Llama 2 tokenizer.json equals the oracle", "[oracle]") {
  FM_ORACLE_DIR_OR_SKIP(dir);
  CompareWithOracle(dir, "llama2");
}

}  // namespace
}  // namespace fm::tokenizer
