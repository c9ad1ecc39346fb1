// ParseHfTokenizer: tokenizer.json's sections in the order the pipeline
// runs them (added tokens, normalizer, pre-tokenizer, model, decoder,
// post-processor), then tokenizer_config.json's special tokens and chat
// template.
#include "services/tokenizer/hf_tokenizer_json.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/json_nesting.h"
#include "common/text/byte_level.h"
#include "services/tokenizer/bpe_tokenizer.h"
#include "services/tokenizer/gguf_vocabulary.h"
#include "services/tokenizer/regex.h"
#include "services/tokenizer/tokenizer_json_reader.h"
#include "services/tokenizer/end_of_generation.h"

namespace fm::tokenizer {
namespace {

using Json = nlohmann::json;

constexpr char kSpaceSymbol[] = "\xE2\x96\x81";  // "▁"

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::StatusOr<Json> ParseJson(absl::string_view json, absl::string_view file) {
  // Nesting is checked on the bytes, before the parser builds anything.
  if (JsonNestingDepth(json) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": nests deeper than ", kMaxJsonDepth, " levels"));
  }
  try {
    Json value = Json::parse(json.begin(), json.end());
    if (!value.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": is not a JSON object"));
    }
    return value;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": not valid JSON: ", e.what()));
  }
}

// Typed access to optional members, naming the JSON path on a wrong type.
const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

absl::StatusOr<bool> GetBool(const Json& object, const char* key,
                             absl::string_view path, bool fallback) {
  const Json* v = Member(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return Invalid(absl::StrCat(path, ".", key), "is not a boolean");
  return v->get<bool>();
}

absl::StatusOr<std::string> GetString(const Json& object, const char* key,
                                      absl::string_view path,
                                      absl::string_view fallback) {
  const Json* v = Member(object, key);
  if (v == nullptr) return std::string(fallback);
  if (!v->is_string()) return Invalid(absl::StrCat(path, ".", key), "is not a string");
  return v->get<std::string>();
}

absl::StatusOr<std::string> GetType(const Json& object, absl::string_view path) {
  if (!object.is_object()) return Invalid(path, "is not an object");
  auto type = GetString(object, "type", path, "");
  if (!type.ok()) return type.status();
  if (type->empty()) return Invalid(path, "has no \"type\"");
  return type;
}

absl::StatusOr<const Json*> GetArray(const Json& object, const char* key,
                                     absl::string_view path) {
  const Json* v = Member(object, key);
  if (v == nullptr || !v->is_array()) {
    return Invalid(absl::StrCat(path, ".", key), "is not an array");
  }
  return v;
}

absl::StatusOr<TokenId> GetId(const Json& value, absl::string_view path) {
  if (!value.is_number_integer()) return Invalid(path, "is not an integer id");
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id >= kMaxVocabSize) {
    return Invalid(path, absl::StrCat("id ", id, " is outside [0, ",
                                      kMaxVocabSize, ")"));
  }
  return static_cast<TokenId>(id);
}

// A {"String": s} or {"Regex": r} pattern.
absl::StatusOr<std::unique_ptr<Regex>> GetPattern(const Json& object,
                                                  absl::string_view path) {
  const Json* pattern = Member(object, "pattern");
  const std::string at = absl::StrCat(path, ".pattern");
  if (pattern == nullptr || !pattern->is_object()) {
    return Invalid(at, "is not a {\"String\"} or {\"Regex\"} object");
  }
  if (const Json* s = Member(*pattern, "String"); s != nullptr && s->is_string()) {
    if (s->get_ref<const std::string&>().empty()) return Invalid(at, "is empty");
    return Regex::Create(s->get<std::string>(), /*literal=*/true);
  }
  if (const Json* r = Member(*pattern, "Regex"); r != nullptr && r->is_string()) {
    auto regex = Regex::Create(r->get<std::string>());
    if (!regex.ok()) return Invalid(at, regex.status().message());
    return regex;
  }
  return Invalid(at, "is not a {\"String\"} or {\"Regex\"} object");
}

// --- normalizer -----------------------------------------------------------

absl::Status AddNormalizer(const Json& n, const std::string& path,
                           std::vector<std::unique_ptr<NormalizerStep>>* steps) {
  auto type = GetType(n, path);
  if (!type.ok()) return type.status();
  if (*type == "Sequence") {
    auto list = GetArray(n, "normalizers", path);
    if (!list.ok()) return list.status();
    for (size_t i = 0; i < (*list)->size(); ++i) {
      absl::Status s = AddNormalizer((**list)[i],
                                     absl::StrCat(path, ".normalizers[", i, "]"), steps);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (*type == "NFC" || *type == "NFD" || *type == "NFKC" || *type == "NFKD") {
    const NormalizationForm form =
        *type == "NFC"  ? NormalizationForm::kNfc
        : *type == "NFD" ? NormalizationForm::kNfd
        : *type == "NFKC" ? NormalizationForm::kNfkc
                          : NormalizationForm::kNfkd;
    steps->push_back(UnicodeFormStep(form));
    return absl::OkStatus();
  }
  if (*type == "Replace") {
    auto pattern = GetPattern(n, path);
    if (!pattern.ok()) return pattern.status();
    auto content = GetString(n, "content", path, "");
    if (!content.ok()) return content.status();
    steps->push_back(ReplaceStep(*std::move(pattern), *std::move(content)));
    return absl::OkStatus();
  }
  if (*type == "Prepend") {
    auto prefix = GetString(n, "prepend", path, "");
    if (!prefix.ok()) return prefix.status();
    steps->push_back(PrependStep(*std::move(prefix)));
    return absl::OkStatus();
  }
  if (*type == "Lowercase") {
    steps->push_back(LowercaseStep());
    return absl::OkStatus();
  }
  if (*type == "Strip") {
    auto left = GetBool(n, "strip_left", path, true);
    auto right = GetBool(n, "strip_right", path, true);
    if (!left.ok()) return left.status();
    if (!right.ok()) return right.status();
    steps->push_back(StripStep(*left, *right));
    return absl::OkStatus();
  }
  return Invalid(path, absl::StrCat(
      "normalizer type '", *type, "' is not supported; supported: Sequence, "
      "NFC, NFD, NFKC, NFKD, Replace, Prepend, Lowercase, Strip"));
}

// --- pre-tokenizer --------------------------------------------------------

absl::StatusOr<SplitBehavior> GetBehavior(const Json& p, absl::string_view path,
                                          absl::string_view fallback) {
  auto name = GetString(p, "behavior", path, fallback);
  if (!name.ok()) return name.status();
  if (*name == "Removed") return SplitBehavior::kRemoved;
  if (*name == "Isolated") return SplitBehavior::kIsolated;
  if (*name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (*name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (*name == "Contiguous") return SplitBehavior::kContiguous;
  return Invalid(absl::StrCat(path, ".behavior"),
                 absl::StrCat("'", *name, "' is not a split behavior"));
}

absl::Status AddSplit(absl::string_view regex, SplitBehavior behavior,
                      bool invert,
                      std::vector<std::unique_ptr<PreTokenizerStep>>* steps) {
  auto compiled = Regex::Create(regex);
  if (!compiled.ok()) return compiled.status();
  steps->push_back(SplitStep(*std::move(compiled), behavior, invert));
  return absl::OkStatus();
}

absl::Status AddPreTokenizer(const Json& p, const std::string& path,
                             std::vector<std::unique_ptr<PreTokenizerStep>>* steps,
                             std::vector<std::string>* names) {
  auto type = GetType(p, path);
  if (!type.ok()) return type.status();
  if (*type == "Sequence") {
    auto list = GetArray(p, "pretokenizers", path);
    if (!list.ok()) return list.status();
    for (size_t i = 0; i < (*list)->size(); ++i) {
      absl::Status s = AddPreTokenizer(
          (**list)[i], absl::StrCat(path, ".pretokenizers[", i, "]"), steps, names);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  names->push_back(*type);
  if (*type == "Split") {
    auto pattern = GetPattern(p, path);
    if (!pattern.ok()) return pattern.status();
    auto behavior = GetBehavior(p, path, "");
    if (!behavior.ok()) return behavior.status();
    auto invert = GetBool(p, "invert", path, false);
    if (!invert.ok()) return invert.status();
    steps->push_back(SplitStep(*std::move(pattern), *behavior, *invert));
    return absl::OkStatus();
  }
  if (*type == "ByteLevel") {
    auto prefix = GetBool(p, "add_prefix_space", path, true);
    auto use_regex = GetBool(p, "use_regex", path, true);
    if (!prefix.ok()) return prefix.status();
    if (!use_regex.ok()) return use_regex.status();
    auto step = ByteLevelStep(*prefix, *use_regex);
    if (!step.ok()) return step.status();
    steps->push_back(*std::move(step));
    return absl::OkStatus();
  }
  if (*type == "Metaspace") {
    auto replacement = GetString(p, "replacement", path, kSpaceSymbol);
    if (!replacement.ok()) return replacement.status();
    if (replacement->empty()) return Invalid(path + ".replacement", "is empty");
    auto split = GetBool(p, "split", path, true);
    if (!split.ok()) return split.status();
    auto legacy_prefix = GetBool(p, "add_prefix_space", path, true);
    if (!legacy_prefix.ok()) return legacy_prefix.status();
    auto scheme_name =
        GetString(p, "prepend_scheme", path, *legacy_prefix ? "always" : "never");
    if (!scheme_name.ok()) return scheme_name.status();
    PrependScheme scheme;
    if (*scheme_name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (*scheme_name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (*scheme_name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return Invalid(path + ".prepend_scheme",
                     absl::StrCat("'", *scheme_name, "' is not always, first or never"));
    }
    steps->push_back(MetaspaceStep(*std::move(replacement), scheme, *split));
    return absl::OkStatus();
  }
  if (*type == "Digits") {
    auto individual = GetBool(p, "individual_digits", path, false);
    if (!individual.ok()) return individual.status();
    return AddSplit(R"(\p{N})",
                    *individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                    false, steps);
  }
  if (*type == "Whitespace") {
    return AddSplit(R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, true, steps);
  }
  if (*type == "WhitespaceSplit") {
    return AddSplit(R"(\s)", SplitBehavior::kRemoved, false, steps);
  }
  if (*type == "Punctuation") {
    auto behavior = GetBehavior(p, path, "Isolated");
    if (!behavior.ok()) return behavior.status();
    return AddSplit(R"([\p{P}!-/:-@\[-`{-~])", *behavior, false, steps);
  }
  return Invalid(path, absl::StrCat(
      "pre-tokenizer type '", *type, "' is not supported; supported: Sequence, "
      "Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, "
      "Punctuation"));
}

// --- decoder --------------------------------------------------------------

// What a decoder chain does, in the terms the streaming decoder knows.
struct DecoderShape {
  bool byte_level = false;   // ByteLevel
  bool metaspace = false;    // "▁" -> " " (Replace or Metaspace)
  bool byte_fallback = false;
  bool strip_leading_space = false;
};

absl::Status AddDecoder(const Json& d, const std::string& path,
                        DecoderShape* shape) {
  auto type = GetType(d, path);
  if (!type.ok()) return type.status();
  if (*type == "Sequence") {
    auto list = GetArray(d, "decoders", path);
    if (!list.ok()) return list.status();
    for (size_t i = 0; i < (*list)->size(); ++i) {
      absl::Status s = AddDecoder((**list)[i],
                                  absl::StrCat(path, ".decoders[", i, "]"), shape);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (*type == "ByteLevel") {
    shape->byte_level = true;
    return absl::OkStatus();
  }
  if (*type == "ByteFallback") {
    shape->byte_fallback = true;
    return absl::OkStatus();
  }
  if (*type == "Fuse") return absl::OkStatus();  // joining is what we do
  if (*type == "Replace") {
    const Json* pattern = Member(d, "pattern");
    const Json* s = pattern == nullptr ? nullptr : Member(*pattern, "String");
    auto content = GetString(d, "content", path, "");
    if (!content.ok()) return content.status();
    if (s != nullptr && s->is_string() && *s == kSpaceSymbol && *content == " ") {
      shape->metaspace = true;
      return absl::OkStatus();
    }
    return Invalid(path, "only the Replace decoder \"▁\" -> \" \" is supported");
  }
  if (*type == "Strip") {
    auto content = GetString(d, "content", path, " ");
    if (!content.ok()) return content.status();
    const Json* start = Member(d, "start");
    const Json* stop = Member(d, "stop");
    if (*content == " " && start != nullptr && *start == 1 &&
        (stop == nullptr || *stop == 0)) {
      shape->strip_leading_space = true;
      return absl::OkStatus();
    }
    return Invalid(path, "only the Strip decoder of one leading space is supported");
  }
  if (*type == "Metaspace") {
    auto replacement = GetString(d, "replacement", path, kSpaceSymbol);
    if (!replacement.ok()) return replacement.status();
    if (*replacement != kSpaceSymbol) {
      return Invalid(path + ".replacement", "only \"▁\" is supported");
    }
    auto legacy_prefix = GetBool(d, "add_prefix_space", path, true);
    if (!legacy_prefix.ok()) return legacy_prefix.status();
    auto scheme =
        GetString(d, "prepend_scheme", path, *legacy_prefix ? "always" : "never");
    if (!scheme.ok()) return scheme.status();
    shape->metaspace = true;
    shape->strip_leading_space = *scheme != "never";
    return absl::OkStatus();
  }
  return Invalid(path, absl::StrCat(
      "decoder type '", *type, "' is not supported; supported: Sequence, "
      "ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace"));
}

// --- post-processor -------------------------------------------------------

// The special tokens TemplateProcessing puts around a single sequence.
struct Framing {
  std::string before, after;  // token contents; "" for none
};

absl::Status ReadPostProcessor(const Json& p, const std::string& path,
                               Framing* framing) {
  auto type = GetType(p, path);
  if (!type.ok()) return type.status();
  if (*type == "ByteLevel") return absl::OkStatus();  // offsets only
  if (*type == "Sequence") {
    auto list = GetArray(p, "processors", path);
    if (!list.ok()) return list.status();
    for (size_t i = 0; i < (*list)->size(); ++i) {
      absl::Status s = ReadPostProcessor(
          (**list)[i], absl::StrCat(path, ".processors[", i, "]"), framing);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (*type != "TemplateProcessing") {
    return Invalid(path, absl::StrCat(
        "post-processor type '", *type, "' is not supported; supported: "
        "TemplateProcessing, ByteLevel, Sequence"));
  }
  auto single = GetArray(p, "single", path);
  if (!single.ok()) return single.status();
  bool seen_sequence = false;
  for (size_t i = 0; i < (*single)->size(); ++i) {
    const Json& item = (**single)[i];
    const std::string at = absl::StrCat(path, ".single[", i, "]");
    if (Member(item, "Sequence") != nullptr) {
      seen_sequence = true;
      continue;
    }
    const Json* special = Member(item, "SpecialToken");
    auto id = special == nullptr ? absl::StatusOr<std::string>(std::string())
                                 : GetString(*special, "id", at, "");
    if (!id.ok()) return id.status();
    if (id->empty()) return Invalid(at, "is neither a Sequence nor a SpecialToken");
    std::string& slot = seen_sequence ? framing->after : framing->before;
    if (!slot.empty()) {
      return Invalid(at, "more than one special token on one side of the text "
                         "is not supported");
    }
    slot = *id;
  }
  return absl::OkStatus();
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

}  // namespace

absl::StatusOr<HfTokenizer> ParseHfTokenizer(absl::string_view tokenizer_json,
                                             absl::string_view config_json) {
  auto doc_or = ReadTokenizerJson(tokenizer_json, "tokenizer.json");
  if (!doc_or.ok()) return doc_or.status();
  TokenizerJsonDocument& doc = *doc_or;
  const Json& root = doc.rest;
  Json config = Json::object();
  if (!config_json.empty()) {
    auto parsed = ParseJson(config_json, "tokenizer_config.json");
    if (!parsed.ok()) return parsed.status();
    config = *std::move(parsed);
  }
  HfTokenizer result;

  // The model.
  const Json* model = Member(root, "model");
  if (model == nullptr) return Invalid("tokenizer.json", "has no \"model\"");
  auto model_type = GetString(*model, "type", "model", "");
  if (!model_type.ok()) return model_type.status();
  if (*model_type != "BPE") {
    return Invalid("model.type", absl::StrCat(
        "'", *model_type, "' is not supported; supported: BPE"));
  }
  result.model_type = *model_type;
  if (const Json* dropout = Member(*model, "dropout");
      dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0)) {
    return Invalid("model.dropout", "BPE dropout is not supported (it is random)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto affix = GetString(*model, key, "model", "");
    if (!affix.ok()) return affix.status();
    if (!affix->empty()) {
      return Invalid(absl::StrCat("model.", key), "a non-empty affix is not supported");
    }
  }
  BpeOptions options;
  auto byte_fallback = GetBool(*model, "byte_fallback", "model", false);
  auto fuse_unk = GetBool(*model, "fuse_unk", "model", false);
  auto ignore_merges = GetBool(*model, "ignore_merges", "model", false);
  auto unk_token = GetString(*model, "unk_token", "model", "");
  for (const auto* s : {&byte_fallback, &fuse_unk, &ignore_merges}) {
    if (!s->ok()) return s->status();
  }
  if (!unk_token.ok()) return unk_token.status();
  options.byte_fallback = result.byte_fallback = *byte_fallback;
  options.fuse_unk = *fuse_unk;
  options.ignore_merges = *ignore_merges;

  if (!doc.has_vocab) return Invalid("model.vocab", "is not an object of piece -> id");
  if (Member(*model, "merges") != nullptr) return Invalid("model.merges", "is not an array");
  TokenId max_id = -1;
  for (const auto& [piece, id] : doc.vocab) max_id = std::max(max_id, id);
  const Json* added_list = Member(root, "added_tokens");
  if (added_list != nullptr && !added_list->is_array()) {
    return Invalid("added_tokens", "is not an array");
  }
  std::vector<AddedToken> added;
  for (size_t i = 0; added_list != nullptr && i < added_list->size(); ++i) {
    const Json& a = (*added_list)[i];
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
    max_id = std::max(max_id, t.id);
    added.push_back(std::move(t));
  }
  if (max_id < 0) return Invalid("model.vocab", "is empty");

  // The vocabulary table: model pieces, then added tokens over them.
  const int64_t n = static_cast<int64_t>(max_id) + 1;
  std::vector<text::VocabEntry> entries(static_cast<size_t>(n));
  std::vector<bool> filled(static_cast<size_t>(n), false);
  for (auto& [piece, id] : doc.vocab) {
    if (filled[id]) {
      return Invalid("model.vocab", absl::StrCat(
          "id ", id, " is given to both '", absl::CHexEscape(entries[id].piece.substr(0, 64)),
          "' and '", absl::CHexEscape(piece.substr(0, 64)), "'"));
    }
    if (piece.empty()) return Invalid("model.vocab", "has an empty piece");
    filled[id] = true;
    uint8_t byte;
    entries[id].type = options.byte_fallback && text::ParseBytePiece(piece, &byte)
                           ? text::PieceType::kByte
                           : text::PieceType::kNormal;
    entries[id].piece = std::move(piece);
  }
  for (const AddedToken& t : added) {
    filled[t.id] = true;
    entries[t.id].piece = t.content;
    entries[t.id].type =
        t.special ? text::PieceType::kControl : text::PieceType::kUserDefined;
  }
  for (TokenId id = 0; id < n; ++id) {
    if (!filled[id]) {
      return Invalid("model.vocab", absl::StrCat(
          "no piece has id ", id, " (ids must be 0..", n - 1,
          " without gaps, counting added_tokens)"));
    }
  }

  std::vector<std::pair<std::string, std::string>>& merges = doc.merges;
  // Merges form model pieces only: never a control token from plain text.
  absl::flat_hash_map<std::string, TokenId> model_pieces;
  model_pieces.reserve(static_cast<size_t>(n));
  for (TokenId id = 0; id < n; ++id) {
    if (entries[id].type == text::PieceType::kControl) continue;
    model_pieces.emplace(entries[id].piece, id);
  }
  if (!unk_token->empty()) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const text::VocabEntry& e) { return e.piece == *unk_token; });
    if (it == entries.end()) {
      return Invalid("model.unk_token", absl::StrCat("'", *unk_token, "' is not a piece"));
    }
    options.unk = static_cast<TokenId>(it - entries.begin());
  }
  auto bpe = BpeModel::Create(std::move(model_pieces), merges, options);
  if (!bpe.ok()) return Invalid("model.merges", bpe.status().message());
  merges.clear();
  merges.shrink_to_fit();

  BpePipeline pipeline;
  pipeline.model = *std::move(bpe);
  pipeline.added_tokens = added;
  if (const Json* n_json = Member(root, "normalizer"); n_json != nullptr) {
    std::vector<std::unique_ptr<NormalizerStep>> steps;
    absl::Status s = AddNormalizer(*n_json, "normalizer", &steps);
    if (!s.ok()) return s;
    pipeline.normalizer = std::make_unique<Normalizer>(std::move(steps));
  }
  if (const Json* p_json = Member(root, "pre_tokenizer"); p_json != nullptr) {
    std::vector<std::unique_ptr<PreTokenizerStep>> steps;
    std::vector<std::string> names;
    absl::Status s = AddPreTokenizer(*p_json, "pre_tokenizer", &steps, &names);
    if (!s.ok()) return s;
    pipeline.pre_tokenizer = std::make_unique<PreTokenizer>(std::move(steps));
    result.pre_tokenizer = absl::StrJoin(names, ",");
  }

  // The decoder decides what each piece's text is.
  const Json* d_json = Member(root, "decoder");
  if (d_json == nullptr) {
    return Invalid("decoder", "is missing; a tokenizer without one joins "
                              "pieces with spaces, which is not supported");
  }
  DecoderShape shape;
  if (absl::Status s = AddDecoder(*d_json, "decoder", &shape); !s.ok()) return s;
  if (shape.byte_level == shape.metaspace) {
    return Invalid("decoder", shape.byte_level
                                  ? "ByteLevel together with \"▁\" replacement is not supported"
                                  : "neither ByteLevel nor \"▁\" -> \" \": not supported");
  }
  if (shape.byte_level && (shape.byte_fallback || shape.strip_leading_space)) {
    return Invalid("decoder", "ByteLevel with ByteFallback or Strip is not supported");
  }
  result.byte_level = shape.byte_level;
  result.strip_leading_space = shape.strip_leading_space;
  for (text::VocabEntry& e : entries) {
    switch (e.type) {
      case text::PieceType::kControl:
        e.text.clear();
        break;
      case text::PieceType::kUserDefined:
        // The decoder's "▁" -> " " applies to added tokens too (Gemma's
        // "▁▁" pieces); byte-level decoding leaves them as written.
        e.text = shape.metaspace ? absl::StrReplaceAll(e.piece, {{kSpaceSymbol, " "}})
                                 : e.piece;
        break;
      case text::PieceType::kByte: {
        uint8_t byte = 0;
        text::ParseBytePiece(e.piece, &byte);
        e.text.assign(1, static_cast<char>(byte));
        if (!shape.byte_fallback) e.text = e.piece;
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
    if (!shape.byte_fallback && e.type == text::PieceType::kByte) {
      e.type = text::PieceType::kNormal;
    }
  }

  // Special ids: tokenizer_config.json names them; else the post-processor.
  Framing framing;
  if (const Json* post = Member(root, "post_processor"); post != nullptr) {
    if (absl::Status s = ReadPostProcessor(*post, "post_processor", &framing);
        !s.ok()) {
      return s;
    }
  }
  auto id_of = [&](const std::string& content, const char* what) -> absl::StatusOr<TokenId> {
    if (content.empty()) return -1;
    for (const AddedToken& t : added) {
      if (t.content == content) return t.id;
    }
    for (TokenId id = 0; id < n; ++id) {
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
                           Slot{"unk_token", &special.unk, *unk_token},
                           Slot{"pad_token", &special.pad, ""}}) {
    auto content = ConfigToken(config, slot.key);
    if (!content.ok()) return content.status();
    const bool named = Member(config, slot.key) != nullptr;
    auto id = id_of(named ? *content : slot.fallback,
                    named ? slot.key : "post_processor");
    if (!id.ok()) return id.status();
    *slot.id = *id;
  }
  special.end_of_generation = EndOfGenerationIds(special.eos, added);

  auto add_bos = GetBool(config, "add_bos_token", "tokenizer_config.json",
                         !framing.before.empty());
  auto add_eos = GetBool(config, "add_eos_token", "tokenizer_config.json",
                         !framing.after.empty());
  if (!add_bos.ok()) return add_bos.status();
  if (!add_eos.ok()) return add_eos.status();
  result.add_bos = *add_bos;
  result.add_eos = *add_eos;

  if (const Json* t = Member(config, "chat_template"); t != nullptr) {
    if (t->is_string()) {
      result.chat_template = t->get<std::string>();
    } else if (t->is_array()) {  // [{"name": ..., "template": ...}]
      for (const Json& named : *t) {
        auto name = GetString(named, "name", "chat_template[]", "");
        if (!name.ok()) return name.status();
        if (*name == "default") {
          auto body = GetString(named, "template", "chat_template[]", "");
          if (!body.ok()) return body.status();
          result.chat_template = *body;
        }
      }
    } else {
      return Invalid("tokenizer_config.json: chat_template",
                     "is neither a string nor a list of named templates");
    }
  }

  text::DecodeRules rules;
  rules.byte_level = shape.byte_level;
  rules.add_dummy_prefix = shape.strip_leading_space;
  rules.remove_extra_whitespaces = false;
  auto tok = BpeTokenizer::Create(std::move(entries), special, rules,
                                  std::move(pipeline));
  if (!tok.ok()) return tok.status();
  result.tokenizer = *std::move(tok);
  return result;
}

}  // namespace fm::tokenizer
