// Unicode helpers over utf8proc.
#include "services/tokenizer/unicode.h"

#include <utf8proc.h>

#include <cstdlib>

#include "common/utf8.h"

namespace fm::tokenizer {

int32_t NextCodepoint(absl::string_view text, size_t* pos) {
  utf8proc_int32_t cp = 0;
  const utf8proc_ssize_t n = utf8proc_iterate(
      reinterpret_cast<const utf8proc_uint8_t*>(text.data()) + *pos,
      static_cast<utf8proc_ssize_t>(text.size() - *pos), &cp);
  *pos += n > 0 ? static_cast<size_t>(n) : 1;
  return n > 0 ? cp : 0xFFFD;
}

int32_t LastCodepoint(absl::string_view text) {
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
    --start;
  }
  return NextCodepoint(text, &start);
}

bool IsWhitespace(int32_t cp) {
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return true;
  const utf8proc_category_t c = utf8proc_category(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL ||
         c == UTF8PROC_CATEGORY_ZP;
}

size_t SkipWhitespaceForward(absl::string_view text, size_t pos) {
  while (pos < text.size()) {
    size_t next = pos;
    if (!IsWhitespace(NextCodepoint(text, &next))) break;
    pos = next;
  }
  return pos;
}

size_t SkipWhitespaceBackward(absl::string_view text, size_t floor, size_t end) {
  while (end > floor) {
    if (!IsWhitespace(LastCodepoint(text.substr(floor, end - floor)))) break;
    size_t last = end - 1;
    while (last > floor && (static_cast<unsigned char>(text[last]) & 0xC0) == 0x80) {
      --last;
    }
    end = last;
  }
  return end;
}

bool IsWordCharacter(int32_t cp) {
  if (cp == '_') return true;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

namespace {

std::string NormalizeRun(absl::string_view text, int options) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
      static_cast<utf8proc_ssize_t>(text.size()), &out,
      static_cast<utf8proc_option_t>(options));
  if (n < 0) {  // only for invalid UTF-8, which callers never pass
    std::free(out);
    return std::string(text);
  }
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

bool IsAscii(char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; }

}  // namespace

std::string Normalize(absl::string_view text, NormalizationForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::kNfc: options |= UTF8PROC_COMPOSE; break;
    case NormalizationForm::kNfd: options |= UTF8PROC_DECOMPOSE; break;
    case NormalizationForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalizationForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  // ASCII is the same in every form, and normalization never reaches
  // across an ASCII character (a starter that is never the second half of
  // a composition): only the stretches from the ASCII character before a
  // non-ASCII one to the next ASCII character go through utf8proc.
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && IsAscii(text[j])) ++j;
    if (j == text.size()) {
      out.append(text.data() + i, j - i);
      break;
    }
    const size_t start = j > i ? j - 1 : j;  // the starter it may compose with
    out.append(text.data() + i, start - i);
    size_t k = j;
    while (k < text.size() && !IsAscii(text[k])) ++k;
    out += NormalizeRun(text.substr(start, k - start), options);
    i = k;
  }
  return out;
}

std::string Lowercase(absl::string_view text) {
  std::string result;
  result.reserve(text.size());
  utf8proc_uint8_t buffer[4];
  for (size_t pos = 0; pos < text.size();) {
    const int32_t cp = utf8proc_tolower(NextCodepoint(text, &pos));
    const utf8proc_ssize_t n = utf8proc_encode_char(cp, buffer);
    result.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
  }
  return result;
}

}  // namespace fm::tokenizer
