// The GGUF pre-tokenizer presets.
#include "services/tokenizer/gguf_pre_tokenizers.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/text/regex.h"

namespace fm::tokenizer {
namespace {

// GPT-2's split, which many models reuse.
constexpr char kGpt2[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The pre-tokenizers of the models' own tokenizer.json files, by the name
// llama.cpp's converter writes to tokenizer.ggml.pre.
const std::map<std::string, std::vector<std::string>>& Presets() {
  static const auto* presets = new std::map<std::string, std::vector<std::string>>{
      {"gpt-2", {kGpt2}},
      {"gpt2", {kGpt2}},
      {"mpt", {kGpt2}},
      {"olmo", {kGpt2}},
      {"llama-bpe",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"smaug-bpe",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"qwen2",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"starcoder", {R"(\p{N})", kGpt2}},
      {"refact", {R"(\p{N})", kGpt2}},
      {"falcon",
       {R"([\p{P}\$\+<=>\^~\|`]+)",
        R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))",
        R"([0-9][0-9][0-9])"}},
      {"deepseek-llm",
       {R"([\r\n])",
        R"(\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+)",
        R"(\s?[!-/:-~！-／：-～‘-‟　-。]+)",
        R"(\s+$)",
        R"([一-龥ࠀ-一가-퟿]+)",
        R"(\p{N}+)"}},
  };
  return *presets;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> GgufPreTokenizerRegexes(
    absl::string_view pre) {
  auto it = Presets().find(std::string(pre));
  if (it == Presets().end()) {
    std::string known;
    for (const auto& [name, patterns] : Presets()) {
      absl::StrAppend(&known, known.empty() ? "" : ", ", name);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "pre-tokenizer '", pre, "' (tokenizer.ggml.pre) is not supported; "
        "supported: ", known));
  }
  return it->second;
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> GgufPreTokenizer(
    absl::string_view pre) {
  auto regexes = GgufPreTokenizerRegexes(pre);
  if (!regexes.ok()) return regexes.status();
  std::vector<std::unique_ptr<PreTokenizerStep>> steps;
  for (const std::string& pattern : *regexes) {
    auto regex = text::Regex::Create(pattern);
    if (!regex.ok()) return regex.status();
    steps.push_back(SplitStep(*std::move(regex), SplitBehavior::kIsolated,
                              /*invert=*/false));
  }
  auto byte_level = ByteLevelStep(/*add_prefix_space=*/false, /*use_regex=*/false);
  if (!byte_level.ok()) return byte_level.status();
  steps.push_back(*std::move(byte_level));
  return std::make_unique<PreTokenizer>(std::move(steps));
}

}  // namespace fm::tokenizer
