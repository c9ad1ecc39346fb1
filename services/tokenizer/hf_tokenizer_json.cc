// ParseHfTokenizer: tokenizer.json's sections in the order the pipeline
// runs them (the BPE model and its vocabulary, added tokens, normalizer,
// pre-tokenizer, decoder, post-processor), then tokenizer_config.json's
// special tokens and chat template. Each step is a function of its own.
#include "services/tokenizer/hf_tokenizer_json.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/json_nesting.h"
#include "common/text/byte_level.h"
#include "services/tokenizer/bpe_tokenizer.h"
#include "services/tokenizer/end_of_generation.h"
#include "services/tokenizer/hf_json_fields.h"
#include "services/tokenizer/hf_pipeline_json.h"
#include "services/tokenizer/tokenizer_json_reader.h"

namespace fm::tokenizer {
namespace {

using hf::GetBool;
using hf::GetId;
using hf::GetString;
using hf::Invalid;
using hf::Json;
using hf::Member;

constexpr char kSpaceSymbol[] = "\xE2\x96\x81";  // "▁"

// tokenizer_config.json (small: an ordinary parse after a nesting check).
absl::StatusOr<Json> ParseConfig(absl::string_view json) {
  constexpr absl::string_view kFile = "tokenizer_config.json";
  if (json.empty()) return Json::object();
  if (JsonNestingDepth(json) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(kFile, ": nests deeper than ", kMaxJsonDepth, " levels"));
  }
  try {
    Json value = Json::parse(json.begin(), json.end());
    if (!value.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(kFile, ": is not a JSON object"));
    }
    return value;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(kFile, ": not valid JSON: ", e.what()));
  }
}

// The BPE model's options; `unk_token` gets its content ("" for none).
absl::StatusOr<BpeOptions> ReadModelOptions(const Json& model, std::string* unk_token) {
  auto type = GetString(model, "type", "model", "");
  if (!type.ok()) return type.status();
  if (*type != "BPE") {
    return Invalid("model.type", absl::StrCat("'", *type, "' is not supported; supported: BPE"));
  }
  if (const Json* dropout = Member(model, "dropout");
      dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0)) {
    return Invalid("model.dropout", "BPE dropout is not supported (it is random)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto affix = GetString(model, key, "model", "");
    if (!affix.ok()) return affix.status();
    if (!affix->empty()) {
      return Invalid(absl::StrCat("model.", key), "a non-empty affix is not supported");
    }
  }
  BpeOptions options;
  for (auto [key, field] : {std::make_pair("byte_fallback", &options.byte_fallback),
                            std::make_pair("fuse_unk", &options.fuse_unk),
                            std::make_pair("ignore_merges", &options.ignore_merges)}) {
    auto flag = GetBool(model, key, "model", false);
    if (!flag.ok()) return flag.status();
    *field = *flag;
  }
  auto unk = GetString(model, "unk_token", "model", "");
  if (!unk.ok()) return unk.status();
  *unk_token = *std::move(unk);
  return options;
}

absl::StatusOr<std::vector<AddedToken>> ReadAddedTokens(const Json& root) {
  std::vector<AddedToken> added;
  const Json* list = Member(root, "added_tokens");
  if (list == nullptr) return added;
  if (!list->is_array()) return Invalid("added_tokens", "is not an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& a = (*list)[i];
    const std::string at = absl::StrCat("added_tokens[", i, "]");
    if (!a.is_object()) return Invalid(at, "is not an object");
    const Json* id_value = Member(a, "id");
    if (id_value == nullptr) return Invalid(at, "has no id");
    auto id = GetId(*id_value, at + ".id");
    if (!id.ok()) return id.status();
    AddedToken t;
    t.id = *id;
    auto content = GetString(a, "content", at, "");
    if (!content.ok()) return content.status();
    if (content->empty()) return Invalid(at + ".content", "is empty");
    t.content = *std::move(content);
    for (auto [key, field] : {std::make_pair("special", &t.special),
                              std::make_pair("lstrip", &t.lstrip),
                              std::make_pair("rstrip", &t.rstrip),
                              std::make_pair("single_word", &t.single_word),
                              std::make_pair("normalized", &t.normalized)}) {
      auto flag = GetBool(a, key, at, false);
      if (!flag.ok()) return flag.status();
      *field = *flag;
    }
    added.push_back(std::move(t));
  }
  return added;
}

// The vocabulary table: model pieces (byte pieces typed as such with byte
// fallback), then added tokens over them; every id from 0 up must have a
// piece.
absl::StatusOr<std::vector<text::VocabEntry>> BuildEntries(
    std::vector<std::pair<std::string, TokenId>> vocab,
    const std::vector<AddedToken>& added, bool byte_fallback) {
  TokenId max_id = -1;
  for (const auto& [piece, id] : vocab) max_id = std::max(max_id, id);
  for (const AddedToken& t : added) max_id = std::max(max_id, t.id);
  if (max_id < 0) return Invalid("model.vocab", "is empty");
  const int64_t n = static_cast<int64_t>(max_id) + 1;
  std::vector<text::VocabEntry> entries(static_cast<size_t>(n));
  std::vector<bool> filled(static_cast<size_t>(n), false);
  for (auto& [piece, id] : vocab) {
    if (filled[id]) {
      return Invalid("model.vocab", absl::StrCat(
          "id ", id, " is given to both '", absl::CHexEscape(entries[id].piece.substr(0, 64)),
          "' and '", absl::CHexEscape(piece.substr(0, 64)), "'"));
    }
    if (piece.empty()) return Invalid("model.vocab", "has an empty piece");
    filled[id] = true;
    uint8_t byte;
    entries[id].type = byte_fallback && text::ParseBytePiece(piece, &byte)
                           ? text::PieceType::kByte
                           : text::PieceType::kNormal;
    entries[id].piece = std::move(piece);
  }
  for (const AddedToken& t : added) {
    filled[t.id] = true;
    entries[t.id].piece = t.content;
    entries[t.id].type = t.special ? text::PieceType::kControl : text::PieceType::kUserDefined;
  }
  for (TokenId id = 0; id < n; ++id) {
    if (!filled[id]) {
      return Invalid("model.vocab", absl::StrCat(
          "no piece has id ", id, " (ids must be 0..", n - 1,
          " without gaps, counting added_tokens)"));
    }
  }
  return entries;
}

// The merge model over every piece but the control tokens (merges never
// form a control token from plain text).
absl::StatusOr<std::unique_ptr<BpeModel>> BuildModel(
    const std::vector<text::VocabEntry>& entries,
    std::vector<std::pair<std::string, std::string>> merges, BpeOptions options,
    const std::string& unk_token) {
  absl::flat_hash_map<std::string, TokenId> pieces;
  pieces.reserve(entries.size());
  for (TokenId id = 0; id < static_cast<TokenId>(entries.size()); ++id) {
    if (entries[id].type == text::PieceType::kControl) continue;
    pieces.emplace(entries[id].piece, id);
  }
  if (!unk_token.empty()) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const text::VocabEntry& e) { return e.piece == unk_token; });
    if (it == entries.end()) {
      return Invalid("model.unk_token", absl::StrCat("'", unk_token, "' is not a piece"));
    }
    options.unk = static_cast<TokenId>(it - entries.begin());
  }
  auto model = BpeModel::Create(std::move(pieces), merges, options);
  if (!model.ok()) return Invalid("model.merges", model.status().message());
  return model;
}

// What each entry decodes to, by the decoder's shape.
void SetEntryTexts(const hf::DecoderShape& shape, std::vector<text::VocabEntry>* entries) {
  for (text::VocabEntry& e : *entries) {
    switch (e.type) {
      case text::PieceType::kControl:
        e.text.clear();
        break;
      case text::PieceType::kUserDefined:
        // The decoder's "▁" -> " " applies to added tokens too (Gemma's
        // "▁▁" pieces); byte-level decoding leaves them as written.
        e.text = shape.metaspace ? absl::StrReplaceAll(e.piece, {{kSpaceSymbol, " "}}) : e.piece;
        break;
      case text::PieceType::kByte: {
        uint8_t byte = 0;
        text::ParseBytePiece(e.piece, &byte);
        e.text.assign(1, static_cast<char>(byte));
        if (!shape.byte_fallback) {  // no ByteFallback decoder: "<0x41>" as written
          e.text = e.piece;
          e.type = text::PieceType::kNormal;
        }
        break;
      }
      default:
        if (shape.byte_level) {
          std::string bytes;
          e.text = text::ByteLevelToBytes(e.piece, &bytes) ? bytes : e.piece;
        } else {
          e.text = absl::StrReplaceAll(e.piece, {{kSpaceSymbol, " "}});
        }
    }
  }
}

// A special token named in tokenizer_config.json: "<s>" or {"content": ...}.
absl::StatusOr<std::string> ConfigToken(const Json& config, const char* key) {
  const Json* v = Member(config, key);
  if (v == nullptr) return std::string();
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) return GetString(*v, "content", key, "");
  return Invalid(absl::StrCat("tokenizer_config.json: ", key),
                 "is neither a string nor an object with \"content\"");
}

// BOS, EOS, UNK and PAD as tokenizer_config.json names them, else as the
// post-processor frames a text (and the model's unk_token); then the
// end-of-generation set.
absl::StatusOr<text::SpecialIds> ReadSpecialIds(const Json& config, const hf::Framing& framing,
                                                const std::string& unk_token,
                                                const std::vector<AddedToken>& added,
                                                const std::vector<text::VocabEntry>& entries) {
  auto id_of = [&](const std::string& content, const char* what) -> absl::StatusOr<TokenId> {
    if (content.empty()) return -1;
    for (const AddedToken& t : added) {
      if (t.content == content) return t.id;
    }
    for (TokenId id = 0; id < static_cast<TokenId>(entries.size()); ++id) {
      if (entries[id].piece == content) return id;
    }
    return Invalid(what, absl::StrCat("'", content, "' is not a token"));
  };
  text::SpecialIds special;
  struct Slot {
    const char* key;
    TokenId* id;
    std::string fallback;
  };
  for (const Slot& slot : {Slot{"bos_token", &special.bos, framing.before},
                           Slot{"eos_token", &special.eos, framing.after},
                           Slot{"unk_token", &special.unk, unk_token},
                           Slot{"pad_token", &special.pad, ""}}) {
    auto content = ConfigToken(config, slot.key);
    if (!content.ok()) return content.status();
    const bool named = Member(config, slot.key) != nullptr;
    auto id = id_of(named ? *content : slot.fallback, named ? slot.key : "post_processor");
    if (!id.ok()) return id.status();
    *slot.id = *id;
  }
  special.end_of_generation = EndOfGenerationIds(special.eos, added);
  return special;
}

// tokenizer_config.json chat_template: a string, or named templates of
// which "default" is served.
absl::StatusOr<std::string> ReadChatTemplate(const Json& config) {
  const Json* t = Member(config, "chat_template");
  if (t == nullptr) return std::string();
  if (t->is_string()) return t->get<std::string>();
  if (!t->is_array()) {
    return Invalid("tokenizer_config.json: chat_template",
                   "is neither a string nor a list of named templates");
  }
  std::string chosen;
  for (const Json& named : *t) {
    auto name = GetString(named, "name", "chat_template[]", "");
    if (!name.ok()) return name.status();
    if (*name != "default") continue;
    auto body = GetString(named, "template", "chat_template[]", "");
    if (!body.ok()) return body.status();
    chosen = *std::move(body);
  }
  return chosen;
}

}  // namespace

absl::StatusOr<HfTokenizer> ParseHfTokenizer(absl::string_view tokenizer_json,
                                             absl::string_view config_json) {
  auto doc = ReadTokenizerJson(tokenizer_json, "tokenizer.json");
  if (!doc.ok()) return doc.status();
  auto config = ParseConfig(config_json);
  if (!config.ok()) return config.status();
  const Json& root = doc->rest;
  HfTokenizer result;

  const Json* model = Member(root, "model");
  if (model == nullptr) return Invalid("tokenizer.json", "has no \"model\"");
  std::string unk_token;
  auto options = ReadModelOptions(*model, &unk_token);
  if (!options.ok()) return options.status();
  result.model_type = "BPE";
  result.byte_fallback = options->byte_fallback;
  if (!doc->has_vocab) return Invalid("model.vocab", "is not an object of piece -> id");
  if (Member(*model, "merges") != nullptr) return Invalid("model.merges", "is not an array");

  auto added = ReadAddedTokens(root);
  if (!added.ok()) return added.status();
  auto entries = BuildEntries(std::move(doc->vocab), *added, options->byte_fallback);
  if (!entries.ok()) return entries.status();
  BpePipeline pipeline;
  auto bpe = BuildModel(*entries, std::move(doc->merges), *options, unk_token);
  if (!bpe.ok()) return bpe.status();
  pipeline.model = *std::move(bpe);
  pipeline.added_tokens = *added;

  if (const Json* n = Member(root, "normalizer"); n != nullptr) {
    auto normalizer = hf::ReadNormalizer(*n);
    if (!normalizer.ok()) return normalizer.status();
    pipeline.normalizer = *std::move(normalizer);
  }
  if (const Json* p = Member(root, "pre_tokenizer"); p != nullptr) {
    std::vector<std::string> names;
    auto pre = hf::ReadPreTokenizer(*p, &names);
    if (!pre.ok()) return pre.status();
    pipeline.pre_tokenizer = *std::move(pre);
    result.pre_tokenizer = absl::StrJoin(names, ",");
  }

  // The decoder decides what each piece's text is.
  const Json* d = Member(root, "decoder");
  if (d == nullptr) {
    return Invalid("decoder", "is missing; a tokenizer without one joins "
                              "pieces with spaces, which is not supported");
  }
  auto shape = hf::ReadDecoder(*d);
  if (!shape.ok()) return shape.status();
  result.byte_level = shape->byte_level;
  result.strip_leading_space = shape->strip_leading_space;
  SetEntryTexts(*shape, &*entries);

  hf::Framing framing;
  if (const Json* post = Member(root, "post_processor"); post != nullptr) {
    auto read = hf::ReadPostProcessor(*post);
    if (!read.ok()) return read.status();
    framing = *std::move(read);
  }
  auto special = ReadSpecialIds(*config, framing, unk_token, *added, *entries);
  if (!special.ok()) return special.status();
  auto add_bos = GetBool(*config, "add_bos_token", "tokenizer_config.json", !framing.before.empty());
  auto add_eos = GetBool(*config, "add_eos_token", "tokenizer_config.json", !framing.after.empty());
  if (!add_bos.ok()) return add_bos.status();
  if (!add_eos.ok()) return add_eos.status();
  result.add_bos = *add_bos;
  result.add_eos = *add_eos;
  auto chat_template = ReadChatTemplate(*config);
  if (!chat_template.ok()) return chat_template.status();
  result.chat_template = *std::move(chat_template);

  text::DecodeRules rules;
  rules.byte_level = shape->byte_level;
  rules.add_dummy_prefix = shape->strip_leading_space;
  rules.remove_extra_whitespaces = false;
  auto tok = BpeTokenizer::Create(*std::move(entries), *std::move(special), rules,
                                  std::move(pipeline));
  if (!tok.ok()) return tok.status();
  result.tokenizer = *std::move(tok);
  return result;
}

}  // namespace fm::tokenizer
