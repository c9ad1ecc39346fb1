// GPT-2's byte-level alphabet: every byte is written as one printable
// Unicode character (bytes that are printable Latin-1 stand for
// themselves, the other 68 become U+0100..U+0143), so byte-level BPE
// vocabularies (GPT-2, Llama 3, Qwen, ...) store pieces as text: "Ġthe"
// is " the". Both directions, as Hugging Face's ByteLevel pre-tokenizer
// and decoder define them.
#ifndef FM_COMMON_TEXT_BYTE_LEVEL_H_
#define FM_COMMON_TEXT_BYTE_LEVEL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fm::text {

// Each byte of `bytes` as its byte-level character (UTF-8).
std::string BytesToByteLevel(absl::string_view bytes);

// The bytes that byte-level text stands for; false when `text` holds a
// character outside the alphabet (or is not UTF-8).
bool ByteLevelToBytes(absl::string_view text, std::string* bytes);

}  // namespace fm::text

#endif  // FM_COMMON_TEXT_BYTE_LEVEL_H_
