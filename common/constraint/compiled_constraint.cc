// CompiledConstraint: masks by one preorder pass over the token trie with
// the automaton state of every depth on a small stack.
#include "common/constraint/compiled_constraint.h"

#include <algorithm>
#include <utility>

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
      automaton_(grammar, limits) {}

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
  }
  Refresh(state);
  if (state.failed) return empty_mask_;
  auto it = masks_.find(state.state);
  if (it != masks_.end()) return it->second;
  const size_t mask_bytes = empty_mask_->words.size() * sizeof(uint64_t);
  if (static_cast<int64_t>((masks_.size() + 1) * mask_bytes) >
      mask_cache_bytes_) {
    masks_.clear();
  }
  std::shared_ptr<const TokenMask> mask = ComputeMask(state.state);
  masks_.emplace(state.state, mask);
  return mask;
}

std::shared_ptr<const TokenMask> CompiledConstraint::ComputeMask(
    int32_t state) {
  auto mask = std::make_shared<TokenMask>(*empty_mask_);
  const auto& nodes = trie_->nodes();
  const auto& tokens = trie_->tokens();
  walk_states_.resize(static_cast<size_t>(trie_->max_depth()) + 1);
  walk_states_[0] = state;
  const int32_t n = static_cast<int32_t>(nodes.size());
  for (int32_t i = 0; i < n;) {
    const TokenTrie::Node& node = nodes[i];
    const int32_t s = automaton_.Next(walk_states_[node.depth - 1], node.byte);
    if (s == GrammarAutomaton::kDead) {
      i = node.subtree_end;
      continue;
    }
    walk_states_[node.depth] = s;
    for (int32_t t = node.tokens_begin; t < node.tokens_end; ++t) {
      mask->words[tokens[t] >> 6] |= uint64_t{1} << (tokens[t] & 63);
    }
    ++i;
  }
  if (automaton_.Accepting(state)) {
    for (TokenId id : vocabulary_->end_of_generation) {
      mask->words[id >> 6] |= uint64_t{1} << (id & 63);
    }
  }
  return mask;
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
