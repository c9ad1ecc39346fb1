// Unicode properties and normalization forms the tokenizer pipelines need,
// through utf8proc (Debian's libutf8proc: Unicode's own tables, nothing
// hand-written).
#ifndef FM_SERVICES_TOKENIZER_UNICODE_H_
#define FM_SERVICES_TOKENIZER_UNICODE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace fm::tokenizer {

enum class NormalizationForm { kNfc, kNfd, kNfkc, kNfkd };

// The code point of the character at text[*pos] (valid UTF-8), advancing
// *pos past it.
int32_t NextCodepoint(absl::string_view text, size_t* pos);
// The code point of the last character of non-empty valid UTF-8 `text`.
int32_t LastCodepoint(absl::string_view text);

// Unicode's White_Space property (what Rust's char::is_whitespace tests).
bool IsWhitespace(int32_t codepoint);
// The end of the whitespace run that starts at text[pos] (valid UTF-8).
size_t SkipWhitespaceForward(absl::string_view text, size_t pos);
// The start of the whitespace run that ends at text[end], not before
// `floor`.
size_t SkipWhitespaceBackward(absl::string_view text, size_t floor, size_t end);

// A letter, a number or '_': what a single_word added token may not touch.
bool IsWordCharacter(int32_t codepoint);

// `text` (valid UTF-8) in normalization form `form`.
std::string Normalize(absl::string_view text, NormalizationForm form);
// `text` with every code point lowercased by Unicode's simple case mapping
// (one code point each; Rust's to_lowercase also applies the few
// multi-character and final-sigma rules, which differ for U+0130 and a
// word-final capital sigma).
std::string Lowercase(absl::string_view text);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_UNICODE_H_
