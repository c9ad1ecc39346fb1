// The pipeline components, one reader each; Sequence recurses.
#include "services/tokenizer/hf_pipeline_json.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/text/regex.h"

namespace fm::tokenizer::hf {
namespace {

constexpr char kSpaceSymbol[] = "\xE2\x96\x81";  // "▁"

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
  auto compiled = text::Regex::Create(regex);
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

absl::Status AddPostProcessor(const Json& p, const std::string& path,
                               Framing* framing) {
  auto type = GetType(p, path);
  if (!type.ok()) return type.status();
  if (*type == "ByteLevel") return absl::OkStatus();  // offsets only
  if (*type == "Sequence") {
    auto list = GetArray(p, "processors", path);
    if (!list.ok()) return list.status();
    for (size_t i = 0; i < (*list)->size(); ++i) {
      absl::Status s = AddPostProcessor(
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

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> ReadNormalizer(const Json& n) {
  std::vector<std::unique_ptr<NormalizerStep>> steps;
  if (absl::Status s = AddNormalizer(n, "normalizer", &steps); !s.ok()) return s;
  return std::make_unique<Normalizer>(std::move(steps));
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> ReadPreTokenizer(
    const Json& p, std::vector<std::string>* names) {
  std::vector<std::unique_ptr<PreTokenizerStep>> steps;
  if (absl::Status s = AddPreTokenizer(p, "pre_tokenizer", &steps, names); !s.ok()) {
    return s;
  }
  return std::make_unique<PreTokenizer>(std::move(steps));
}

absl::StatusOr<DecoderShape> ReadDecoder(const Json& d) {
  DecoderShape shape;
  if (absl::Status s = AddDecoder(d, "decoder", &shape); !s.ok()) return s;
  if (shape.byte_level == shape.metaspace) {
    return Invalid("decoder", shape.byte_level
                                  ? "ByteLevel together with \"▁\" replacement is not supported"
                                  : "neither ByteLevel nor \"▁\" -> \" \": not supported");
  }
  if (shape.byte_level && (shape.byte_fallback || shape.strip_leading_space)) {
    return Invalid("decoder", "ByteLevel with ByteFallback or Strip is not supported");
  }
  return shape;
}

absl::StatusOr<Framing> ReadPostProcessor(const Json& p) {
  Framing framing;
  if (absl::Status s = AddPostProcessor(p, "post_processor", &framing); !s.ok()) return s;
  return framing;
}

}  // namespace fm::tokenizer::hf
