// GrammarAutomaton: recognizes a ByteGrammar byte by byte, and becomes a
// DFA as it goes. A recognizer state is the set of parse stacks that can
// continue the bytes seen so far (as llama.cpp's grammar stacks are); here
// stacks are interned as persistent linked lists (a frame and its parent),
// states are interned as sorted sets of stacks, and every transition is
// remembered once computed, so a regular language costs one table lookup
// per byte after warm-up and a recursive one (nested JSON) one per byte
// per state it has seen. Tail calls do not grow a stack, so repetition
// written as right recursion keeps a constant depth. Bytes that no byte set
// of the grammar tells apart (its byte classes: all letters but those a
// literal names, say) lead to the same state, so one computed transition
// fills the row for its whole class.
//
// Not thread-safe: CompiledConstraint serialises access.
#ifndef FM_COMMON_CONSTRAINT_GRAMMAR_AUTOMATON_H_
#define FM_COMMON_CONSTRAINT_GRAMMAR_AUTOMATON_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/constraint/byte_grammar.h"

namespace fm::constraint {

// Bounds on the automaton's memory. When either is reached the automaton
// starts afresh (Reset); states handed out before carry the old epoch.
struct AutomatonLimits {
  int32_t max_states = 1 << 15;  // each with a row of 4 bytes per class
  int32_t max_stacks = 1 << 21;  // interned stack frames
  // Stacks in one state; a state that would hold more is treated as dead
  // (fail closed: the bytes that lead there are refused).
  int32_t max_stacks_per_state = 4096;
};

class GrammarAutomaton {
 public:
  static constexpr int32_t kDead = -1;

  // `grammar` must have passed Validate().
  explicit GrammarAutomaton(const ByteGrammar& grammar,
                            AutomatonLimits limits = {});

  // The state before any byte.
  int32_t initial() const { return initial_; }
  // The state after `byte` from `state`, or kDead when no parse continues.
  int32_t Next(int32_t state, uint8_t byte) {
    // Two loads from small tables on the hot path (a mask walks every node
    // of the token trie): rows are per byte class, so they stay in cache.
    const uint8_t byte_class = class_of_[byte];
    const int32_t to =
        next_[static_cast<size_t>(state) * classes_ + byte_class];
    return to != kUnknown ? to : ComputeNext(state, byte);
  }
  // The byte class of `byte`: bytes of one class lead to the same state
  // from every state.
  uint8_t byte_class(uint8_t byte) const { return class_of_[byte]; }
  // True when the bytes so far form a complete match.
  bool Accepting(int32_t state) const { return states_[state].accepting; }

  // Forgets every state and stack (memory bound); increments the epoch.
  void Reset();
  // True once the states or stacks outgrew the limits (Reset between
  // tokens, never in the middle of a mask computation).
  bool OverLimits() const {
    return static_cast<int32_t>(states_.size()) > limits_.max_states ||
           static_cast<int32_t>(frames_.size()) > limits_.max_stacks;
  }
  uint32_t epoch() const { return epoch_; }
  int32_t state_count() const { return static_cast<int32_t>(states_.size()); }

 private:
  enum class OpKind : uint8_t { kBytes, kRule, kEnd };
  struct Op {
    OpKind kind;
    int32_t index;  // kBytes: byte set; kRule: rule
  };
  struct Frame {
    int32_t pos;     // next element to match (never a kEnd)
    int32_t parent;  // frame to return to, -1 for none
  };
  struct State {
    std::vector<int32_t> stacks;  // sorted frame ids, each at a kBytes op
    bool accepting = false;
  };
  static constexpr int32_t kUnknown = -2;

  int32_t ComputeNext(int32_t state, uint8_t byte);
  // Sets `to` as the transition of every class not yet known from `state`
  // that the same stacks of `state` take as they take `byte`.
  void FillAlike(int32_t state, uint8_t byte, int32_t to);

  int32_t InternFrame(int32_t pos, int32_t parent);
  // False when the closure has seen `key` (a (pos, parent) pair) before.
  bool Visit(uint64_t key);
  // Expands (pos, parent) to the frames that wait on a byte, into
  // scratch_stacks_, and sets scratch_accepting_ when a parse can end.
  void Close(int32_t pos, int32_t parent);
  // Interns the state made of the scratch set; kDead when empty.
  int32_t InternScratch();
  int32_t Compute(int32_t state, uint8_t byte);

  AutomatonLimits limits_;
  std::vector<ByteSet> byte_sets_;
  // Byte classes: class_of_[b], and how many there are.
  std::array<uint8_t, 256> class_of_{};
  int32_t classes_ = 1;
  std::vector<uint8_t> class_byte_;              // a byte of each class
  std::vector<Op> program_;                      // alternatives, End-terminated
  std::vector<std::vector<int32_t>> rule_alts_;  // rule -> alternative starts
  int32_t root_ = 0;

  std::vector<Frame> frames_;
  absl::flat_hash_map<uint64_t, int32_t> frame_ids_;
  std::vector<State> states_;
  // Transitions, one per state and byte class (kUnknown until computed).
  std::vector<int32_t> next_;
  absl::flat_hash_map<std::vector<int32_t>, int32_t>
      state_ids_;  // key: stacks + accepting
  int32_t initial_ = kDead;
  uint32_t epoch_ = 0;

  // Reused by Close / InternScratch.
  std::vector<int32_t> scratch_stacks_;
  bool scratch_accepting_ = false;
  std::vector<std::pair<int32_t, int32_t>> work_;
  // (pos, parent) pairs a closure has seen: the first few in a short
  // array, all of them in the set once there are more (Visit).
  std::vector<uint64_t> visited_small_;
  absl::flat_hash_set<uint64_t> visited_;
  std::vector<int32_t> scratch_key_;  // InternScratch's lookup key
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_GRAMMAR_AUTOMATON_H_
