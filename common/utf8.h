// UTF-8 helpers for streaming text: never emit half a character, and name
// the byte where invalid input starts.
#ifndef FM_COMMON_UTF8_H_
#define FM_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fm {

// Length of the longest prefix of `text` that does not end inside an
// unfinished multi-byte character. Bytes that can never become valid (a
// stray continuation byte, 0xC0, 0xFF, ...) count as complete: they will
// not change by waiting, so holding them back would stall the stream.
size_t Utf8CompletePrefixLength(absl::string_view text);

// True when `text` ends with the first 1..3 bytes of a multi-byte character
// that more bytes could still complete.
bool Utf8EndsWithIncompleteChar(absl::string_view text);

// Bytes of the character a lead byte announces: 1 for ASCII (and for a
// byte that cannot lead), 2-4 otherwise. For text already validated.
size_t Utf8SequenceLength(unsigned char lead);

// Length of the well-formed character starting at text[i] (1-4), or 0 when
// no complete well-formed character starts there.
size_t Utf8CharLengthAt(absl::string_view text, size_t i);

// The code point of the well-formed character starting at text[i] into
// `*code_point`, and its length (1-4); 0 (nothing written) when none
// starts there.
size_t DecodeUtf8At(absl::string_view text, size_t i, uint32_t* code_point);

// OK for well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing
// above U+10FFFF); otherwise INVALID_ARGUMENT naming `field` and the offset
// of the first bad byte.
absl::Status ValidateUtf8(absl::string_view text, absl::string_view field);

}  // namespace fm

#endif  // FM_COMMON_UTF8_H_
