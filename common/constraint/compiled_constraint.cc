// CompiledConstraint: masks by one preorder pass over the token trie with
// the automaton state of every depth on a small stack, after a shortcut
// for wide states (ReachOf) that takes most of the trie whole.
#include "common/constraint/compiled_constraint.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "common/constraint/text_summary.h"

namespace fm::constraint {

int64_t TokenMask::count() const {
  int64_t n = 0;
  for (uint64_t w : words) n += __builtin_popcountll(w);
  return n;
}

namespace {

std::shared_ptr<const TokenMask> EmptyMask(int32_t vocab_size) {
  auto mask = std::make_shared<TokenMask>();
  mask->words.assign((static_cast<size_t>(vocab_size) + 63) / 64, 0);
  return mask;
}

}  // namespace

CompiledConstraint::CompiledConstraint(
    const ByteGrammar& grammar,
    std::shared_ptr<const TokenVocabulary> vocabulary,
    std::shared_ptr<const TokenTrie> trie, int64_t mask_cache_bytes,
    AutomatonLimits limits)
    : vocabulary_(std::move(vocabulary)),
      trie_(std::move(trie)),
      mask_cache_bytes_(mask_cache_bytes),
      empty_mask_(EmptyMask(vocabulary_->size())),
      automaton_(grammar, limits) {
  absl::MutexLock lock(&mu_);
  // One byte of each set of bytes alike for the automaton, UTF-8 (from
  // every state) and the groups; characters are sequences of those.
  std::vector<uint8_t> distinct_bytes;
  absl::flat_hash_set<uint64_t> seen;
  for (int b = 0; b < 256; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b);
    uint64_t key = automaton_.byte_class(byte) |
                   static_cast<uint64_t>(ByteGroup(byte)) << 8;
    for (int8_t u = 0; u < 8; ++u) {
      key |= static_cast<uint64_t>(Utf8Step(u, byte) + 1) << (16 + 4 * u);
    }
    if (seen.insert(key).second) distinct_bytes.push_back(byte);
  }
  for (uint8_t b : distinct_bytes) {
    if (b < 0x80) distinct_characters_.push_back(std::string(1, b));
  }
  // Multi-byte characters, depth first over UTF-8's states.
  constexpr size_t kMaxCharacters = 4096;
  const size_t ascii = distinct_characters_.size();
  std::vector<std::pair<std::string, int8_t>> pending = {{"", kUtf8Boundary}};
  while (!pending.empty() && distinct_characters_.size() <= kMaxCharacters) {
    auto [prefix, utf8] = std::move(pending.back());
    pending.pop_back();
    for (uint8_t b : distinct_bytes) {
      if (b < 0x80) continue;
      const int8_t next = Utf8Step(utf8, b);
      if (next == kUtf8Error) continue;
      std::string bytes = prefix + static_cast<char>(b);
      if (next == kUtf8Boundary) {
        distinct_characters_.push_back(std::move(bytes));
      } else {
        pending.push_back({std::move(bytes), next});
      }
    }
  }
  if (distinct_characters_.size() > kMaxCharacters) {
    distinct_characters_.resize(ascii);
  }
}

ConstraintState CompiledConstraint::Initial() {
  absl::MutexLock lock(&mu_);
  ConstraintState state;
  state.state = automaton_.initial();
  state.epoch = automaton_.epoch();
  return state;
}

bool CompiledConstraint::IsEndOfGeneration(TokenId token) const {
  const auto& eog = vocabulary_->end_of_generation;
  return std::binary_search(eog.begin(), eog.end(), token);
}

int32_t CompiledConstraint::Walk(int32_t from, const std::string& bytes) {
  int32_t s = from;
  for (char c : bytes) {
    s = automaton_.Next(s, static_cast<uint8_t>(c));
    if (s == GrammarAutomaton::kDead) break;
  }
  return s;
}

void CompiledConstraint::Refresh(ConstraintState& state) {
  if (state.failed || state.epoch == automaton_.epoch()) return;
  int32_t s = automaton_.initial();
  for (TokenId token : state.tokens) {
    if (IsEndOfGeneration(token)) break;
    s = Walk(s, vocabulary_->bytes[token]);
    if (s == GrammarAutomaton::kDead) break;
  }
  state.epoch = automaton_.epoch();
  state.state = s;
  state.failed = s == GrammarAutomaton::kDead;
}

std::shared_ptr<const TokenMask> CompiledConstraint::Mask(
    ConstraintState& state) {
  absl::MutexLock lock(&mu_);
  if (automaton_.OverLimits()) {
    automaton_.Reset();
    masks_.clear();
    character_steps_.clear();
    character_steps_bytes_ = 0;
  }
  Refresh(state);
  if (state.failed) return empty_mask_;
  auto it = masks_.find(state.state);
  if (it != masks_.end()) return it->second;
  const size_t mask_bytes = empty_mask_->words.size() * sizeof(uint64_t);
  if (static_cast<int64_t>((masks_.size() + 1) * mask_bytes) +
          tokens_within_bytes_ + character_steps_bytes_ >
      mask_cache_bytes_) {
    masks_.clear();
    tokens_within_.clear();
    tokens_within_bytes_ = 0;
    character_steps_.clear();
    character_steps_bytes_ = 0;
  }
  std::shared_ptr<const TokenMask> mask = ComputeMask(state.state);
  masks_.emplace(state.state, mask);
  return mask;
}

CompiledConstraint::PlainReach CompiledConstraint::ReachOf(int32_t state) {
  // Below this many groups (of 44) a state is narrow: its walk ends near
  // the root anyway (digits, whitespace, a closing quote), and the
  // shortcut would cost more than it saves (measured: at 3, a phone
  // number's p99 at 128k tokens went from 37 to over 140 µs).
  constexpr int kMinGroups = 12;
  // Candidates: the groups all of whose characters' first bytes live.
  uint64_t seen = 0, refused = 0;
  for (const CharacterStep& step : StepsOf(state)) {
    seen |= step.groups;
    if (step.kind == CharacterStep::kDiesFirst) refused |= step.groups;
  }
  uint64_t groups = seen & ~refused;
  // A group to blame for texts that die early (a closing quote: what may
  // follow it is narrow) is dropped, a few times at most: what remains may
  // reach much further.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (__builtin_popcountll(groups) < kMinGroups) break;
    uint64_t failing = 0;
    const PlainReach reach = CharacterReach(state, groups, &failing);
    if (reach.whole_length == kMaxSummaryLength || reach.length >= 8 ||
        (failing & groups) == 0 || (failing & groups) == groups) {
      return reach;
    }
    groups &= ~failing;
  }
  return {};
}

CompiledConstraint::PlainReach CompiledConstraint::CharacterReach(
    int32_t state, uint64_t groups, uint64_t* failing) {
  // Breadth first over the automaton's states at character boundaries: the
  // states at depth d are where the texts of d characters lead. Each
  // carries the groups of the characters that led to it, which are to
  // blame when a text through it dies.
  struct Reached {
    int32_t state;
    uint64_t path;  // group bits
  };
  constexpr size_t kMaxFrontier = 64;
  std::vector<Reached> frontier = {{state, 0}};
  std::vector<Reached> next;
  for (int32_t depth = 0; depth < TokensWithin::kMaxLength; ++depth) {
    next.clear();
    bool any_lives = false, any_dies_late = false;
    for (const Reached& from : frontier) {
      for (const CharacterStep& step : StepsOf(from.state)) {
        const uint64_t bits = step.groups & groups;
        if (bits == 0) continue;
        if (step.kind == CharacterStep::kLives) {
          any_lives = true;
          next.push_back({step.to, from.path | bits});
          continue;
        }
        // The text's earlier characters are to blame (a closing quote, not
        // what follows it); the characters themselves only when they come
        // first.
        *failing |= from.path != 0 ? from.path : bits;
        if (step.kind == CharacterStep::kDiesLate) any_dies_late = true;
      }
    }
    if (*failing != 0) {
      // Refused at the first byte beyond, every one: longer texts die.
      const bool counted = !any_lives && !any_dies_late;
      return {groups, depth, counted ? kMaxSummaryLength : depth};
    }
    std::sort(next.begin(), next.end(), [](const Reached& a, const Reached& b) {
      return a.state < b.state;
    });
    size_t kept = 0;
    for (size_t i = 0; i < next.size(); ++i) {
      if (kept > 0 && next[kept - 1].state == next[i].state) {
        next[kept - 1].path |= next[i].path;
      } else {
        next[kept++] = next[i];
      }
    }
    next.resize(kept);
    // The same states again: every longer text lives too.
    if (std::equal(next.begin(), next.end(), frontier.begin(), frontier.end(),
                   [](const Reached& a, const Reached& b) {
                     return a.state == b.state;
                   })) {
      return {groups, kMaxSummaryLength, kMaxSummaryLength};
    }
    if (next.size() > kMaxFrontier) return {groups, depth + 1, depth + 1};
    frontier.swap(next);
  }
  return {groups, TokensWithin::kMaxLength, TokensWithin::kMaxLength};
}

const std::vector<CompiledConstraint::CharacterStep>&
CompiledConstraint::StepsOf(int32_t state) {
  if (character_steps_.size() <= static_cast<size_t>(state)) {
    character_steps_.resize(static_cast<size_t>(automaton_.state_count()));
  }
  std::vector<CharacterStep>& steps = character_steps_[state];
  if (!steps.empty()) return steps;  // every state has a step: ASCII
  for (const std::string& c : distinct_characters_) {
    int32_t to = state;
    size_t i = 0;
    for (; i < c.size(); ++i) {
      to = automaton_.Next(to, c[i]);
      if (to == GrammarAutomaton::kDead) break;
    }
    const CharacterStep::Kind kind = i == c.size() ? CharacterStep::kLives
                                     : i == 0      ? CharacterStep::kDiesFirst
                                                   : CharacterStep::kDiesLate;
    const uint64_t bit = uint64_t{1} << ByteGroup(c[0]);
    auto same = std::find_if(
        steps.begin(), steps.end(),
        [&](const CharacterStep& s) { return s.kind == kind && s.to == to; });
    if (same != steps.end()) {
      same->groups |= bit;
    } else {
      steps.push_back(
          {kind == CharacterStep::kLives ? to : kDeadState, kind, bit});
    }
  }
  character_steps_bytes_ +=
      static_cast<int64_t>(steps.size() * sizeof(CharacterStep));
  return steps;
}

const std::vector<uint64_t>& CompiledConstraint::TokensUpTo(uint64_t groups,
                                                            int32_t length) {
  std::unique_ptr<TokensWithin>& sets = tokens_within_[groups];
  if (sets == nullptr) sets = std::make_unique<TokensWithin>(*trie_, groups);
  const int64_t before = sets->bytes();
  const std::vector<uint64_t>& words = sets->UpTo(length);
  tokens_within_bytes_ += sets->bytes() - before;
  return words;
}

std::shared_ptr<const TokenMask> CompiledConstraint::ComputeMask(
    int32_t state) {
  auto mask = std::make_shared<TokenMask>();
  const PlainReach reach = ReachOf(state);
  if (reach.length > 0) {
    mask->words = TokensUpTo(reach.groups, reach.length);
    WalkTrie<true>(state, reach, *mask);
  } else {
    mask->words = empty_mask_->words;
    WalkTrie<false>(state, reach, *mask);
  }
  if (automaton_.Accepting(state)) {
    for (TokenId id : vocabulary_->end_of_generation) {
      mask->words[id >> 6] |= uint64_t{1} << (id & 63);
    }
  }
  return mask;
}

template <bool kTakesWhole>
void CompiledConstraint::WalkTrie(int32_t state, const PlainReach& reach,
                                  TokenMask& mask) {
  // Locals, not members: the mask's stores would make the compiler reload
  // members on every node.
  const TokenTrie::Node* nodes = trie_->nodes().data();
  const TokenId* tokens = trie_->tokens().data();
  const uint64_t* summaries = trie_->subtree_summaries().data();
  const uint64_t refused = (kGroupBits & ~reach.groups) | kNotUtf8;
  uint64_t* words = mask.words.data();
  walk_states_.resize(static_cast<size_t>(trie_->max_depth()) + 1);
  int32_t* states = walk_states_.data();
  states[0] = state;
  const int32_t n = static_cast<int32_t>(trie_->nodes().size());
  for (int32_t i = 0; i < n;) {
    const TokenTrie::Node& node = nodes[i];
    if (kTakesWhole && (summaries[i] & refused) == 0 &&
        SummaryLength(summaries[i]) <= reach.whole_length) {
      i = node.subtree_end;  // every token below is in the mask already
      continue;
    }
    const int32_t s = automaton_.Next(states[node.depth - 1], node.byte);
    if (s == GrammarAutomaton::kDead) {
      i = node.subtree_end;
      continue;
    }
    states[node.depth] = s;
    for (int32_t t = node.tokens_begin; t < node.tokens_end; ++t) {
      words[tokens[t] >> 6] |= uint64_t{1} << (tokens[t] & 63);
    }
    ++i;
  }
}

bool CompiledConstraint::Advance(ConstraintState& state, TokenId token) {
  absl::MutexLock lock(&mu_);
  Refresh(state);
  state.tokens.push_back(token);
  if (state.failed) return false;
  if (token < 0 || token >= vocabulary_->size()) {
    state.failed = true;
    return false;
  }
  if (IsEndOfGeneration(token)) {
    state.failed = !automaton_.Accepting(state.state);
    return !state.failed;
  }
  const std::string& bytes = vocabulary_->bytes[token];
  const int32_t s =
      bytes.empty() ? GrammarAutomaton::kDead : Walk(state.state, bytes);
  state.failed = s == GrammarAutomaton::kDead;
  if (!state.failed) state.state = s;
  return !state.failed;
}

bool CompiledConstraint::Complete(ConstraintState& state) {
  absl::MutexLock lock(&mu_);
  Refresh(state);
  return !state.failed && automaton_.Accepting(state.state);
}

}  // namespace fm::constraint
