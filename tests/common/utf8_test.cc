// UTF-8 helpers: complete-prefix length at every cut of 1-4 byte characters,
// and validation errors that name the offset.
#include "common/utf8.h"

#include <string>

#include <catch2/catch.hpp>

namespace fm {
namespace {

TEST_CASE("a character cut at every offset is held back", "[utf8]") {
  // 1, 2, 3 and 4-byte characters.
  for (const std::string ch : {"a", "\xC3\xA9", "\xE4\xB8\xAD",
                               "\xF0\x9F\x98\x80"}) {
    const std::string text = "ok" + ch;
    for (size_t cut = 2; cut <= text.size(); ++cut) {
      const std::string prefix = text.substr(0, cut);
      const bool whole = cut == text.size() || cut == 2;
      INFO("char bytes " << ch.size() << " cut " << cut);
      CHECK(Utf8CompletePrefixLength(prefix) == (whole ? cut : 2));
      CHECK(Utf8EndsWithIncompleteChar(prefix) == !whole);
    }
  }
}

TEST_CASE("bytes that can never complete are not held back", "[utf8]") {
  CHECK(Utf8CompletePrefixLength("a\x80") == 2);     // stray continuation
  CHECK(Utf8CompletePrefixLength("a\xFF") == 2);     // never valid
  CHECK(Utf8CompletePrefixLength("a\xC0") == 2);     // overlong lead
  CHECK(Utf8CompletePrefixLength("a\xE0\x80") == 3); // overlong 3-byte
  CHECK(Utf8CompletePrefixLength("a\xED\xA0") == 3); // surrogate
  CHECK(Utf8CompletePrefixLength("a\xF4\x90") == 3); // above U+10FFFF
  CHECK(Utf8CompletePrefixLength("") == 0);
}

TEST_CASE("ValidateUtf8 accepts valid text", "[utf8]") {
  CHECK(ValidateUtf8("", "text").ok());
  CHECK(ValidateUtf8("h\xC3\xA9llo \xE4\xB8\xAD \xF0\x9F\x98\x80", "text").ok());
}

TEST_CASE("ValidateUtf8 names the field and offset", "[utf8]") {
  const absl::Status lone = ValidateUtf8("ab\xFF", "prompt");
  CHECK(lone.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(lone.message()).find("prompt") != std::string::npos);
  CHECK(std::string(lone.message()).find("offset 2") != std::string::npos);

  const absl::Status cut = ValidateUtf8("ab\xE4\xB8", "text");
  CHECK(cut.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(cut.message()).find("offset 2") != std::string::npos);

  CHECK_FALSE(ValidateUtf8("\xC0\xAF", "t").ok());          // overlong '/'
  CHECK_FALSE(ValidateUtf8("\xED\xA0\x80", "t").ok());      // surrogate
  CHECK_FALSE(ValidateUtf8("\xF4\x90\x80\x80", "t").ok());  // > U+10FFFF
}

}  // namespace
}  // namespace fm
