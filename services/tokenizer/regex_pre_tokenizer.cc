// RegexPreTokenizer over PCRE2 (JIT-compiled, falling back to the
// interpreter when a match outgrows the JIT stack).
#include "services/tokenizer/regex_pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace fm::tokenizer {
namespace {

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }


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

absl::StatusOr<std::unique_ptr<RegexPreTokenizer>> RegexPreTokenizer::Create(
    const std::vector<std::string>& patterns) {
  std::unique_ptr<RegexPreTokenizer> pre(new RegexPreTokenizer());
  pre->patterns_ = patterns;
  for (const std::string& pattern : patterns) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(
        reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
        PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return absl::InvalidArgumentError(absl::StrCat(
          "pre-tokenizer regex '", pattern.substr(0, 200),
          "' does not compile at offset ", offset, ": ",
          reinterpret_cast<const char*>(message)));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort
    pre->codes_.push_back(code);
  }
  return pre;
}

absl::StatusOr<std::unique_ptr<RegexPreTokenizer>>
RegexPreTokenizer::ForGgufPre(absl::string_view pre) {
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
  return Create(it->second);
}

RegexPreTokenizer::~RegexPreTokenizer() {
  for (void* code : codes_) pcre2_code_free(Code(code));
}

std::vector<absl::string_view> RegexPreTokenizer::Split(
    absl::string_view text) const {
  std::vector<absl::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  for (void* code : codes_) {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(Code(code),
                                                                   nullptr);
    std::vector<absl::string_view> next;
    for (absl::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t gap = 0, search = 0;
      while (search < piece.size()) {
        int rc = pcre2_match(Code(code), subject, piece.size(), search,
                             PCRE2_NO_UTF_CHECK, match, nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
          rc = pcre2_match(Code(code), subject, piece.size(), search,
                           PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, nullptr);
        }
        if (rc < 0) break;  // no (further) match
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
        const size_t start = ov[0], end = ov[1];
        if (end <= start) {  // an empty match splits nothing: look further
          if (start >= piece.size()) break;
          search = start + Utf8SequenceLength(static_cast<unsigned char>(piece[start]));
          continue;
        }
        if (start > gap) next.push_back(piece.substr(gap, start - gap));
        next.push_back(piece.substr(start, end - start));
        gap = search = end;
      }
      if (gap < piece.size()) next.push_back(piece.substr(gap));
    }
    pcre2_match_data_free(match);
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace fm::tokenizer
