// BpeModel: symbols in a linked list, candidate merges in a priority queue
// (rank, then position), stale candidates skipped when popped.
#include "services/tokenizer/bpe_model.h"

#include <algorithm>
#include <queue>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace fm::tokenizer {
namespace {

std::string Quoted(absl::string_view piece) {
  return absl::StrCat("'", absl::CHexEscape(piece.substr(0, 64)), "'");
}

}  // namespace

bool SplitMergeLine(absl::string_view line, std::pair<std::string, std::string>* merge) {
  const size_t space = line.find(' ');
  if (space == absl::string_view::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != absl::string_view::npos) {
    return false;
  }
  merge->first = std::string(line.substr(0, space));
  merge->second = std::string(line.substr(space + 1));
  return true;
}

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    absl::flat_hash_map<std::string, TokenId> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges,
    BpeOptions options) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->options_ = options;
  model->vocab_ = std::move(vocab);
  for (int b = 0; b < 256; ++b) {
    auto it = model->vocab_.find(absl::StrFormat("<0x%02X>", b));
    model->byte_ids_[b] = it == model->vocab_.end() ? -1 : it->second;
  }
  model->merges_.reserve(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [left, right] = merges[i];
    auto l = model->vocab_.find(left);
    auto r = model->vocab_.find(right);
    joined.assign(left).append(right);
    auto m = model->vocab_.find(joined);
    const std::string* missing = l == model->vocab_.end()   ? &left
                                 : r == model->vocab_.end() ? &right
                                 : m == model->vocab_.end() ? &joined
                                                            : nullptr;
    if (missing != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "merge ", i, " (", Quoted(left), " + ", Quoted(right), ") names ",
          Quoted(*missing), ", which is not in the vocabulary"));
    }
    // A later duplicate never applies: the first rank stands.
    model->merges_.emplace(PairKey(l->second, r->second),
                           MergeRule{static_cast<int32_t>(i), m->second});
  }
  return model;
}

void BpeModel::Encode(absl::string_view word, std::vector<TokenId>* ids) const {
  if (word.empty()) return;
  if (word.size() > kMaxCachedWordBytes) {
    MergeWord(word, ids);
    return;
  }
  CacheShard& shard = cache_[absl::HashOf(word) % kCacheShards];
  {
    absl::MutexLock lock(&shard.mu);
    auto hit = shard.words.find(word);
    if (hit != shard.words.end()) {
      ids->insert(ids->end(), hit->second.begin(), hit->second.end());
      return;
    }
  }
  const size_t first = ids->size();
  MergeWord(word, ids);
  absl::MutexLock lock(&shard.mu);
  if (shard.words.size() >= kCacheWordsPerShard) shard.words.clear();
  shard.words.emplace(word, std::vector<TokenId>(ids->begin() + first, ids->end()));
}

void BpeModel::MergeWord(absl::string_view word, std::vector<TokenId>* ids) const {
  if (options_.ignore_merges) {
    auto whole = vocab_.find(word);
    if (whole != vocab_.end()) {
      ids->push_back(whole->second);
      return;
    }
  }
  // Symbols: a doubly linked list over the word's initial pieces.
  struct Symbol {
    TokenId id;
    int prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](TokenId id) {
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  };
  bool pending_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    const size_t len = std::min(
        Utf8SequenceLength(static_cast<unsigned char>(word[pos])),
        word.size() - pos);
    const absl::string_view ch = word.substr(pos, len);
    pos += len;
    auto it = vocab_.find(ch);
    if (it != vocab_.end()) {
      if (pending_unk) add(options_.unk);
      pending_unk = false;
      add(it->second);
      continue;
    }
    if (options_.byte_fallback &&
        std::all_of(ch.begin(), ch.end(), [this](char c) {
          return byte_ids_[static_cast<unsigned char>(c)] >= 0;
        })) {
      if (pending_unk) add(options_.unk);
      pending_unk = false;
      for (char c : ch) add(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (options_.unk < 0) continue;
    if (pending_unk && !options_.fuse_unk) add(options_.unk);
    pending_unk = true;
  }
  if (pending_unk) add(options_.unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank;
    int left;
    TokenId left_id, right_id, merged;
  };
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)>
      agenda(worse);
  auto consider = [&](int left) {
    if (left < 0) return;
    const int right = symbols[left].next;
    if (right < 0) return;
    auto it = merges_.find(PairKey(symbols[left].id, symbols[right].id));
    if (it == merges_.end()) return;
    agenda.push({it->second.rank, left, symbols[left].id, symbols[right].id,
                 it->second.merged});
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) consider(i);
  while (!agenda.empty()) {
    const Candidate top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    if (!left.alive || left.id != top.left_id || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    if (right.id != top.right_id) continue;  // stale
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    consider(left.prev);
    consider(top.left);
  }
  for (int i = 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

}  // namespace fm::tokenizer
