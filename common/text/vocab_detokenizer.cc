// VocabDetokenizer: SentencePiece's decoding rules over a vocabulary table.
#include "common/text/vocab_detokenizer.h"

#include <utility>

#include "common/utf8.h"

namespace fm::text {
namespace {

constexpr char kSpaceSymbol[] = "\xE2\x96\x81";  // "▁"
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Appends `bytes` as SentencePiece does: whole valid characters as they
// are, and U+FFFD for every byte that does not start one.
void AppendBytes(const std::string& bytes, std::string* out) {
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t len = Utf8CharLengthAt(bytes, i);
    if (len == 0) {
      out->append(kReplacement);
      ++i;
    } else {
      out->append(bytes, i, len);
      i += len;
    }
  }
}

}  // namespace

VocabDetokenizer::VocabDetokenizer(std::vector<VocabEntry> entries,
                                   SpecialIds special, DecodeRules rules)
    : entries_(std::move(entries)), special_(special), rules_(rules) {}

absl::StatusOr<std::string> VocabDetokenizer::Decode(
    absl::Span<const TokenId> ids) const {
  absl::Status valid = ValidateIds(ids, vocab_size(), "ids");
  if (!valid.ok()) return valid;
  std::string text;
  std::string bytes;  // the current run of byte pieces
  const bool strip_start =
      rules_.add_dummy_prefix || rules_.remove_extra_whitespaces;
  bool at_start = true;        // a leading "▁" may still be dropped
  bool dropped_space = false;  // the previous piece dropped one
  for (TokenId id : ids) {
    const VocabEntry& e = entries_[id];
    if (e.type == PieceType::kByte ||
        (rules_.byte_level && e.type != PieceType::kControl)) {
      bytes += e.text;
      continue;
    }
    if (rules_.byte_level) continue;  // a control id: no text
    AppendBytes(bytes, &text);
    bytes.clear();
    if (dropped_space || !text.empty()) at_start = false;
    dropped_space = false;
    if (e.type == PieceType::kControl) continue;
    if (e.type == PieceType::kUnknown) {
      text += e.text;
      continue;
    }
    // e.text is the piece with every "▁" already turned into a space (an
    // entry from elsewhere may disagree: only a space is ever dropped).
    const bool drop = strip_start && at_start &&
                      e.piece.compare(0, 3, kSpaceSymbol) == 0 &&
                      !e.text.empty() && e.text[0] == ' ';
    text.append(e.text, drop ? 1 : 0, std::string::npos);
    // Without remove_extra_whitespaces only the first one goes.
    dropped_space = drop && !rules_.remove_extra_whitespaces;
  }
  AppendBytes(bytes, &text);
  return text;
}

}  // namespace fm::text
