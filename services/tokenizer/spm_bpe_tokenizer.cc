// SpmBpeTokenizer: SentencePiece 0.1.97's identity normalizer and BPE model
// (normalizer.cc, bpe_model.cc), re-stated over a vocabulary table.
#include "services/tokenizer/spm_bpe_tokenizer.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/utf8.h"

namespace fm::tokenizer {
namespace {

constexpr char kSpaceSymbol[] = "\xE2\x96\x81";  // "▁"
constexpr size_t kSpaceSymbolBytes = 3;

bool MayMerge(text::PieceType type) {
  return type == text::PieceType::kNormal ||
         type == text::PieceType::kUserDefined ||
         type == text::PieceType::kUnused;
}


}  // namespace

absl::StatusOr<std::unique_ptr<SpmBpeTokenizer>> SpmBpeTokenizer::Create(
    std::vector<text::VocabEntry> entries, text::SpecialIds special,
    SpmNormalizer normalizer) {
  const int64_t n = static_cast<int64_t>(entries.size());
  if (n == 0) return absl::InvalidArgumentError("the vocabulary is empty");
  if (absl::Status s = text::ValidateSpecialIds(special, n); !s.ok()) return s;
  std::unique_ptr<SpmBpeTokenizer> tok(
      new SpmBpeTokenizer(std::move(entries), special, normalizer));
  for (TokenId id = 0; id < n; ++id) {
    const text::VocabEntry& e = tok->detokenizer_.entry(id);
    if (e.type == text::PieceType::kByte) {
      // "<0xAB>": byte pieces serve byte fallback (the first of each).
      uint8_t value;
      if (text::ParseBytePiece(e.piece, &value) && tok->byte_ids_[value] < 0) {
        tok->byte_ids_[value] = id;
      }
      continue;
    }
    if (!MayMerge(e.type) || e.piece.empty()) continue;
    if (!tok->pieces_.emplace(e.piece, id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "piece '", absl::CHexEscape(e.piece.substr(0, 64)), "' (id ", id,
          ") appears twice in the vocabulary"));
    }
    if (e.type == text::PieceType::kUserDefined) {
      tok->user_defined_.push_back(e.piece);
    }
  }
  // Byte fallback needs every byte: a vocabulary with only some is used
  // without it, as SentencePiece would reject it.
  for (TokenId id : tok->byte_ids_) {
    if (id < 0) {
      std::fill(std::begin(tok->byte_ids_), std::end(tok->byte_ids_), -1);
      break;
    }
  }
  tok->SetSpecialTokensFromVocabulary();
  return tok;
}

SpmBpeTokenizer::SpmBpeTokenizer(std::vector<text::VocabEntry> entries,
                                 text::SpecialIds special,
                                 SpmNormalizer normalizer)
    : detokenizer_(std::move(entries), special,
                   {normalizer.add_dummy_prefix,
                    normalizer.remove_extra_whitespaces}),
      normalizer_(normalizer) {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
}

std::string SpmBpeTokenizer::Normalize(absl::string_view text,
                                       bool dummy_prefix) const {
  const bool squeeze = normalizer_.remove_extra_whitespaces;
  if (squeeze) {
    while (absl::ConsumePrefix(&text, " ")) {
    }
  }
  std::string out;
  if (text.empty()) return out;
  out.reserve(text.size() * 3 / 2 + kSpaceSymbolBytes);
  if (normalizer_.add_dummy_prefix && dummy_prefix) out.append(kSpaceSymbol);
  bool prev_space = squeeze;
  for (char c : text) {
    if (c == ' ') {
      if (!prev_space) out.append(kSpaceSymbol);
      prev_space = squeeze;
    } else {
      out.push_back(c);
      prev_space = false;
    }
  }
  if (squeeze) {
    while (absl::EndsWith(out, kSpaceSymbol)) {
      out.resize(out.size() - kSpaceSymbolBytes);
    }
  }
  return out;
}

absl::Status SpmBpeTokenizer::EncodeText(absl::string_view input,
                                         bool /*at_text_start*/,
                                         std::vector<TokenId>* ids) const {
  EncodeNormalized(Normalize(input), ids);
  return absl::OkStatus();
}

absl::Status SpmBpeTokenizer::EncodeContinuation(
    absl::string_view input, std::vector<TokenId>* ids) const {
  EncodeNormalized(Normalize(input, /*dummy_prefix=*/false), ids);
  return absl::OkStatus();
}

void SpmBpeTokenizer::EncodeNormalized(absl::string_view normalized,
                                       std::vector<TokenId>* ids) const {
  // Symbols: user-defined pieces whole (never merged further), else single
  // characters; a doubly linked list in text order.
  struct Symbol {
    int prev, next;
    absl::string_view piece;
    bool frozen;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(normalized.size());
  for (size_t pos = 0; pos < normalized.size();) {
    size_t len = 0;
    bool frozen = false;
    for (absl::string_view u : user_defined_) {
      if (u.size() > len && absl::StartsWith(normalized.substr(pos), u)) {
        len = u.size();
        frozen = true;
      }
    }
    if (len == 0) {
      len = std::min(Utf8SequenceLength(static_cast<unsigned char>(normalized[pos])),
                     normalized.size() - pos);
    }
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, pos + len == normalized.size() ? -1 : index + 1,
                       normalized.substr(pos, len), frozen});
    pos += len;
  }

  // The agenda: candidate merges of adjacent symbols whose concatenation is
  // a piece, best score first, then leftmost (SentencePiece's order).
  struct Pair {
    float score;
    int left, right;
    size_t size;
  };
  auto worse = [](const Pair& a, const Pair& b) {
    return a.score != b.score ? a.score < b.score : a.left > b.left;
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> agenda(worse);
  // Unused pieces formed by a merge, and the two pieces they came from.
  absl::flat_hash_map<absl::string_view,
                      std::pair<absl::string_view, absl::string_view>>
      rev_merge;
  auto maybe_add = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].frozen ||
        symbols[right].frozen) {
      return;
    }
    const absl::string_view piece(
        symbols[left].piece.data(),
        symbols[left].piece.size() + symbols[right].piece.size());
    auto it = pieces_.find(piece);
    if (it == pieces_.end()) return;
    const text::VocabEntry& e = entry(it->second);
    agenda.push({e.score, left, right, piece.size()});
    if (e.type == text::PieceType::kUnused) {
      rev_merge[piece] = {symbols[left].piece, symbols[right].piece};
    }
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  }
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    // Stale: one side was merged into something else meanwhile.
    if (left.piece.empty() || right.piece.empty() ||
        left.piece.size() + right.piece.size() != top.size) {
      continue;
    }
    left.piece = absl::string_view(left.piece.data(), top.size);
    right.piece = absl::string_view();
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    maybe_add(left.prev, top.left);
    maybe_add(top.left, left.next);
  }

  // Final pieces to ids.
  bool prev_unknown = false;
  std::function<void(absl::string_view)> emit = [&](absl::string_view piece) {
    auto it = pieces_.find(piece);
    if (it != pieces_.end()) {
      if (entry(it->second).type == text::PieceType::kUnused) {
        auto split = rev_merge.find(piece);
        if (split != rev_merge.end()) {
          emit(split->second.first);
          emit(split->second.second);
          return;
        }
      }
      ids->push_back(it->second);
      prev_unknown = false;
      return;
    }
    if (byte_fallback()) {
      for (unsigned char c : piece) ids->push_back(byte_ids_[c]);
      prev_unknown = false;
      return;
    }
    // A run of unknown pieces is one unk, as SentencePiece merges them.
    const TokenId unk = special_ids().unk;
    if (unk >= 0 && !prev_unknown) ids->push_back(unk);
    prev_unknown = true;
  };
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    emit(symbols[i].piece);
  }
}

}  // namespace fm::tokenizer
