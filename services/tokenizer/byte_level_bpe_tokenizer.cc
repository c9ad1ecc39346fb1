// ByteLevelBpeTokenizer: pre-tokenize, write each word in the byte-level
// alphabet, merge by rank (lowest first, then leftmost).
#include "services/tokenizer/byte_level_bpe_tokenizer.h"

#include <queue>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/text/byte_level.h"
#include "common/utf8.h"

namespace fm::tokenizer {
namespace {


}  // namespace

absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>>
ByteLevelBpeTokenizer::Create(std::vector<text::VocabEntry> entries,
                              const std::vector<std::string>& merges,
                              text::SpecialIds special,
                              std::unique_ptr<RegexPreTokenizer> pre_tokenizer,
                              bool ignore_merges) {
  const int64_t n = static_cast<int64_t>(entries.size());
  if (n == 0) return absl::InvalidArgumentError("the vocabulary is empty");
  if (absl::Status s = text::ValidateSpecialIds(special, n); !s.ok()) return s;
  std::unique_ptr<ByteLevelBpeTokenizer> tok(new ByteLevelBpeTokenizer());
  tok->ignore_merges_ = ignore_merges;
  for (TokenId id = 0; id < n; ++id) {
    text::VocabEntry& e = entries[id];
    if (e.type == text::PieceType::kControl) {
      e.text.clear();
      continue;
    }
    // Byte-level pieces decode to their bytes; anything else (an added
    // token typed as text) to itself.
    std::string bytes;
    e.text = text::ByteLevelToBytes(e.piece, &bytes) ? bytes : e.piece;
    if (e.type != text::PieceType::kNormal) continue;
    if (!tok->pieces_.emplace(e.piece, id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "piece '", absl::CHexEscape(e.piece.substr(0, 64)), "' (id ", id,
          ") appears twice in the vocabulary"));
    }
  }
  tok->ranks_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& m = merges[i];
    const size_t space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == m.size() ||
        m.find(' ', space + 1) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "merge ", i, " '", absl::CHexEscape(m.substr(0, 64)),
          "' is not two pieces separated by one space"));
    }
    // A later duplicate never applies: the first rank stands.
    tok->ranks_.emplace(m, static_cast<int32_t>(i));
  }
  text::DecodeRules rules;
  rules.add_dummy_prefix = false;
  rules.byte_level = true;
  tok->detokenizer_ = std::make_unique<text::VocabDetokenizer>(
      std::move(entries), special, rules);
  tok->pre_tokenizer_ = std::move(pre_tokenizer);
  return tok;
}

absl::Status ByteLevelBpeTokenizer::EncodeText(
    absl::string_view input, std::vector<TokenId>* ids) const {
  for (absl::string_view word : pre_tokenizer_->Split(input)) {
    EncodeWord(word, ids);
  }
  return absl::OkStatus();
}

void ByteLevelBpeTokenizer::EncodeWord(absl::string_view word,
                                       std::vector<TokenId>* ids) const {
  const std::string text = text::BytesToByteLevel(word);
  if (ignore_merges_) {
    auto whole = pieces_.find(text);
    if (whole != pieces_.end()) {
      ids->push_back(whole->second);
      return;
    }
  }
  // Symbols: the word's byte-level characters, a linked list in order.
  struct Symbol {
    int prev, next;
    size_t begin, size;  // in `text`
  };
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = std::min(
        Utf8SequenceLength(static_cast<unsigned char>(text[pos])),
        text.size() - pos);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(
        {index - 1, pos + len == text.size() ? -1 : index + 1, pos, len});
    pos += len;
  }
  struct Pair {
    int32_t rank;
    int left, right;
    size_t size;
  };
  auto worse = [](const Pair& a, const Pair& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> agenda(worse);
  std::string key;
  auto maybe_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    key.assign(text, l.begin, l.size);
    key.push_back(' ');
    key.append(text, r.begin, r.size);
    auto it = ranks_.find(key);
    if (it == ranks_.end()) return;
    agenda.push({it->second, left, right, l.size + r.size});
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  }
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.size == 0 || right.size == 0 || left.next != top.right ||
        left.size + right.size != top.size) {
      continue;  // stale
    }
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    maybe_add(left.prev, top.left);
    maybe_add(top.left, left.next);
  }
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    const absl::string_view piece =
        absl::string_view(text).substr(symbols[i].begin, symbols[i].size);
    auto it = pieces_.find(piece);
    if (it != pieces_.end()) {
      ids->push_back(it->second);
      continue;
    }
    // Not a piece (a vocabulary without every single byte): each of its
    // characters alone, else unk.
    for (size_t pos = 0; pos < piece.size();) {
      const size_t len = std::min(
          Utf8SequenceLength(static_cast<unsigned char>(piece[pos])), piece.size() - pos);
      auto single = pieces_.find(piece.substr(pos, len));
      if (single != pieces_.end()) {
        ids->push_back(single->second);
      } else if (special_ids().unk >= 0) {
        ids->push_back(special_ids().unk);
      }
      pos += len;
    }
  }
}

}  // namespace fm::tokenizer
