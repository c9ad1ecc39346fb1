// AddedTokenMatcher: a scan that, at each byte, tries the token lengths
// that start with that byte, longest first.
#include "services/tokenizer/added_tokens.h"

#include <algorithm>

#include "services/tokenizer/unicode.h"

namespace fm::tokenizer {
namespace {

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    if (!by_content_
             .emplace(t.content, Entry{t.id, t.lstrip, t.rstrip, t.single_word})
             .second) {
      continue;
    }
    auto& lengths = lengths_[static_cast<unsigned char>(t.content[0])];
    if (std::find(lengths.begin(), lengths.end(), t.content.size()) ==
        lengths.end()) {
      lengths.push_back(t.content.size());
    }
  }
  for (auto& lengths : lengths_) {
    std::sort(lengths.begin(), lengths.end(), std::greater<size_t>());
  }
}

const AddedTokenMatcher::Entry* AddedTokenMatcher::LongestAt(
    absl::string_view text, size_t pos, size_t* length) const {
  for (size_t len : lengths_[static_cast<unsigned char>(text[pos])]) {
    if (len > text.size() - pos) continue;
    auto it = by_content_.find(text.substr(pos, len));
    if (it != by_content_.end()) {
      *length = len;
      return &it->second;
    }
  }
  return nullptr;
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::Split(
    absl::string_view text,
    const std::vector<std::pair<size_t, size_t>>* literal_ranges) const {
  auto literal = [literal_ranges](size_t begin, size_t end) {
    if (literal_ranges == nullptr) return false;
    for (const auto& [b, e] : *literal_ranges) {
      if (b < end && begin < e) return true;
    }
    return false;
  };
  std::vector<Segment> segments;
  size_t plain = 0;  // start of the current plain stretch
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    const Entry* match =
        lengths_[static_cast<unsigned char>(text[pos])].empty()
            ? nullptr
            : LongestAt(text, pos, &length);
    if (match == nullptr || literal(pos, pos + length)) {
      ++pos;
      continue;
    }
    if (match->single_word) {
      const bool word_before = pos > 0 &&
          IsWordCharacter(LastCodepoint(text.substr(0, pos)));
      size_t after = pos + length;
      const bool word_after = after < text.size() &&
          IsWordCharacter(NextCodepoint(text, &after));
      if (word_before || word_after) {
        pos += length;  // as a leftmost-longest scan, resume past it
        continue;
      }
    }
    size_t begin = pos, end = pos + length;
    if (match->lstrip) begin = SkipWhitespaceBackward(text, plain, begin);
    if (match->rstrip) end = SkipWhitespaceForward(text, end);
    if (begin > plain) segments.push_back({text.substr(plain, begin - plain), -1});
    segments.push_back({text.substr(begin, end - begin), match->id});
    plain = pos = end;
  }
  if (plain < text.size()) segments.push_back({text.substr(plain), -1});
  return segments;
}

}  // namespace fm::tokenizer
