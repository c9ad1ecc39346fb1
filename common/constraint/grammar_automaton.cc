// GrammarAutomaton: closure over interned frames, interned states, and
// lazily filled transition rows.
#include "common/constraint/grammar_automaton.h"

#include <algorithm>
#include <unordered_set>

namespace fm::constraint {
namespace {

uint64_t Key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) |
         static_cast<uint32_t>(b);
}

}  // namespace

GrammarAutomaton::GrammarAutomaton(const ByteGrammar& grammar,
                                   AutomatonLimits limits)
    : limits_(limits), byte_sets_(grammar.byte_sets()), root_(grammar.root()) {
  const auto& rules = grammar.rules();
  rule_alts_.resize(rules.size());
  for (size_t r = 0; r < rules.size(); ++r) {
    for (const Alternative& alt : rules[r].alternatives) {
      rule_alts_[r].push_back(static_cast<int32_t>(program_.size()));
      for (const GrammarElement& e : alt) {
        program_.push_back({e.kind == GrammarElement::Kind::kBytes
                                ? OpKind::kBytes
                                : OpKind::kRule,
                            e.index});
      }
      program_.push_back({OpKind::kEnd, 0});
    }
  }
  // Partition refinement: split every class by membership in each set.
  class_of_.fill(0);
  int32_t classes = 1;
  std::unordered_set<ByteSet> distinct;  // sets repeat (literals, digits)
  for (const ByteSet& set : byte_sets_) {
    if (!distinct.insert(set).second) continue;
    std::array<int16_t, 512> split;  // (old class, in set) -> new class
    split.fill(-1);
    int32_t next = 0;
    for (int b = 0; b < 256; ++b) {
      int16_t& to = split[class_of_[b] * 2 + (set.test(b) ? 1 : 0)];
      if (to < 0) to = static_cast<int16_t>(next++);
      class_of_[b] = static_cast<uint8_t>(to);
    }
    classes = next;
    if (classes == 256) break;  // every byte its own class
  }
  classes_ = classes;
  class_byte_.assign(classes_, 0);
  for (int b = 255; b >= 0; --b)
    class_byte_[class_of_[b]] = static_cast<uint8_t>(b);
  Reset();
  epoch_ = 0;
}

void GrammarAutomaton::Reset() {
  frames_.clear();
  frame_ids_.clear();
  states_.clear();
  next_.clear();
  state_ids_.clear();
  ++epoch_;
  scratch_stacks_.clear();
  scratch_accepting_ = false;
  visited_small_.clear();
  visited_.clear();
  for (int32_t start : rule_alts_[root_]) Close(start, -1);
  initial_ = InternScratch();
  if (initial_ == kDead) {
    // A grammar that matches nothing still needs a state to stand in.
    states_.emplace_back();
    next_.assign(classes_, kDead);
    initial_ = 0;
  }
}

int32_t GrammarAutomaton::InternFrame(int32_t pos, int32_t parent) {
  auto [it, inserted] = frame_ids_.try_emplace(
      Key(pos, parent), static_cast<int32_t>(frames_.size()));
  if (inserted) frames_.push_back({pos, parent});
  return it->second;
}

bool GrammarAutomaton::Visit(uint64_t key) {
  // A closure visits a handful of positions (about 7 in JSON schemas): a
  // scan of a short array beats hashing them; long ones go to the set.
  constexpr size_t kSmall = 32;
  if (visited_small_.size() < kSmall) {
    for (uint64_t k : visited_small_) {
      if (k == key) return false;
    }
    visited_small_.push_back(key);
    if (visited_small_.size() == kSmall) {
      visited_.insert(visited_small_.begin(), visited_small_.end());
    }
    return true;
  }
  return visited_.insert(key).second;
}

void GrammarAutomaton::Close(int32_t pos, int32_t parent) {
  work_.clear();
  work_.push_back({pos, parent});
  while (!work_.empty()) {
    auto [p, up] = work_.back();
    work_.pop_back();
    if (!Visit(Key(p, up))) continue;
    const Op& op = program_[p];
    switch (op.kind) {
      case OpKind::kBytes:
        scratch_stacks_.push_back(InternFrame(p, up));
        break;
      case OpKind::kEnd:
        if (up < 0) {
          scratch_accepting_ = true;
        } else {
          work_.push_back({frames_[up].pos, frames_[up].parent});
        }
        break;
      case OpKind::kRule: {
        // Return to p + 1, unless that ends the alternative: a tail call
        // returns straight to the caller's caller.
        int32_t ret = up;
        if (program_[p + 1].kind != OpKind::kEnd) ret = InternFrame(p + 1, up);
        for (int32_t start : rule_alts_[op.index])
          work_.push_back({start, ret});
        break;
      }
    }
  }
}

int32_t GrammarAutomaton::InternScratch() {
  std::vector<int32_t>& s = scratch_stacks_;
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  if (s.empty() && !scratch_accepting_) return kDead;
  if (static_cast<int32_t>(s.size()) > limits_.max_stacks_per_state) {
    return kDead;
  }
  // The key in a reused buffer: most lookups find a known state.
  scratch_key_.assign(s.begin(), s.end());
  scratch_key_.push_back(scratch_accepting_ ? 1 : 0);
  auto [it, inserted] = state_ids_.try_emplace(
      scratch_key_, static_cast<int32_t>(states_.size()));
  if (inserted) {
    State state;
    state.stacks = s;
    state.accepting = scratch_accepting_;
    states_.push_back(std::move(state));
    next_.resize(states_.size() * classes_, kUnknown);
  }
  return it->second;
}

int32_t GrammarAutomaton::Compute(int32_t state, uint8_t byte) {
  scratch_stacks_.clear();
  scratch_accepting_ = false;
  visited_small_.clear();
  visited_.clear();
  // Close grows frames_ (so a frame is copied) but never states_.
  const std::vector<int32_t>& stacks = states_[state].stacks;
  for (int32_t id : stacks) {
    const Frame frame = frames_[id];
    if (byte_sets_[program_[frame.pos].index].test(byte)) {
      Close(frame.pos + 1, frame.parent);
    }
  }
  return InternScratch();
}

int32_t GrammarAutomaton::ComputeNext(int32_t state, uint8_t byte) {
  const int32_t to = Compute(state, byte);
  FillAlike(state, byte, to);
  next_[static_cast<size_t>(state) * classes_ + class_of_[byte]] = to;
  return to;
}

void GrammarAutomaton::FillAlike(int32_t state, uint8_t byte, int32_t to) {
  // The transition depends only on which of the state's stacks take the
  // byte, and in a string or free text most classes are taken by the same
  // ones (every letter, digit and punctuation mark but the quote): one
  // Compute fills their whole part of the row. Measured on JSON schemas
  // with counted strings: five times fewer Computes.
  const std::vector<int32_t>& stacks = states_[state].stacks;
  int32_t* row = &next_[static_cast<size_t>(state) * classes_];
  for (int32_t c = 0; c < classes_; ++c) {
    if (row[c] != kUnknown) continue;
    const uint8_t other = class_byte_[c];
    bool alike = true;
    for (int32_t id : stacks) {
      const ByteSet& set = byte_sets_[program_[frames_[id].pos].index];
      if (set.test(other) != set.test(byte)) {
        alike = false;
        break;
      }
    }
    if (alike) row[c] = to;
  }
}

}  // namespace fm::constraint
