// CompiledConstraint: a ByteGrammar bound to a vocabulary — the token mask
// of every recognizer state (computed once by a walk of the token trie,
// then cached) and token-by-token advancing. One instance is shared by
// every session and sequence that uses the same constraint with the same
// vocabulary; each sequence holds only a ConstraintState. Thread-safe.
#ifndef FM_COMMON_CONSTRAINT_COMPILED_CONSTRAINT_H_
#define FM_COMMON_CONSTRAINT_COMPILED_CONSTRAINT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/constraint/byte_grammar.h"
#include "common/constraint/grammar_automaton.h"
#include "common/constraint/token_trie.h"
#include "common/constraint/token_vocabulary.h"
#include "common/constraint/tokens_within.h"
#include "common/token_id.h"

namespace fm::constraint {

// Allowed tokens as bits (bit i of word i / 64).
struct TokenMask {
  std::vector<uint64_t> words;
  bool allows(TokenId id) const { return (words[id >> 6] >> (id & 63)) & 1; }
  int64_t count() const;
};

// One sequence's place in the constraint. Plain data: copied when a
// sequence forks. `tokens` is what it accepted, to find its state again
// after the automaton started afresh (a new epoch).
struct ConstraintState {
  int32_t state = 0;
  uint32_t epoch = 0;
  bool failed = false;  // a token the constraint refuses was accepted
  std::vector<TokenId> tokens;
};

class CompiledConstraint {
 public:
  // `grammar` must have passed Validate(). Memory for cached masks is
  // bounded by `mask_cache_bytes` (the cache is emptied when it is full).
  CompiledConstraint(const ByteGrammar& grammar,
                     std::shared_ptr<const TokenVocabulary> vocabulary,
                     std::shared_ptr<const TokenTrie> trie,
                     int64_t mask_cache_bytes = 64 << 20,
                     AutomatonLimits limits = {});

  ConstraintState Initial();

  // The tokens that may come next: every token whose bytes continue a
  // match, plus the end-of-generation ids when the text so far is a whole
  // match. Empty when `state` has failed.
  std::shared_ptr<const TokenMask> Mask(ConstraintState& state);

  // Advances by `token`; false (and the state failed) when the constraint
  // refuses it. End-of-generation ids are accepted where the text may end.
  bool Advance(ConstraintState& state, TokenId token);

  // True when the text so far is a whole match.
  bool Complete(ConstraintState& state);

  const TokenVocabulary& vocabulary() const { return *vocabulary_; }

 private:
  // Brings `state` to the current epoch (replaying its tokens).
  void Refresh(ConstraintState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The automaton state after `bytes` from `from`, or kDead.
  int32_t Walk(int32_t from, const std::string& bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A shortcut for wide states. Every UTF-8 text of at most `length`
  // characters whose bytes all fall in `groups` (TextSummary bits)
  // continues a match from the state, so the tokens of
  // TokensWithin(groups).UpTo(length) are allowed without a walk, and a
  // trie subtree all of whose tokens are such texts of at most
  // `whole_length` characters is taken whole: `whole_length` is `length`,
  // or kMaxSummaryLength when every longer such text is refused at its
  // first byte beyond (a string that counts characters up to a maxLength)
  // or none ever is (a loop: free text, a string without bounds). Length 0
  // when the state has no such shortcut.
  struct PlainReach {
    uint64_t groups = 0;
    int32_t length = 0;
    int32_t whole_length = 0;
  };
  PlainReach ReachOf(int32_t state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Steps the texts over `groups` from `state` a character at a time (up
  // to TokensWithin::kMaxLength); `failing` gets the groups to blame for
  // the first texts that die.
  PlainReach CharacterReach(int32_t state, uint64_t groups, uint64_t* failing)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What one character does from a state: where the characters of
  // `groups` (TextSummary bits of their first bytes) lead, or that they die
  // at their first byte or later. CharacterReach steps through these
  // rather than through every character's bytes.
  struct CharacterStep {
    enum Kind : uint8_t { kLives, kDiesFirst, kDiesLate };
    int32_t to;
    Kind kind;
    uint64_t groups;
  };
  static constexpr int32_t kDeadState = GrammarAutomaton::kDead;
  // The steps from `state` over every distinct character, merged by where
  // they lead; computed once per state (until the automaton starts afresh).
  const std::vector<CharacterStep>& StepsOf(int32_t state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TokensWithin(groups).UpTo(length), kept for the next mask.
  const std::vector<uint64_t>& TokensUpTo(uint64_t groups, int32_t length)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const TokenMask> ComputeMask(int32_t state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The trie walk: marks every token that continues from `state`, taking
  // whole (unvisited) the subtrees `reach` already allows.
  template <bool kTakesWhole>
  void WalkTrie(int32_t state, const PlainReach& reach, TokenMask& mask)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsEndOfGeneration(TokenId token) const;

  const std::shared_ptr<const TokenVocabulary> vocabulary_;
  const std::shared_ptr<const TokenTrie> trie_;
  const int64_t mask_cache_bytes_;
  const std::shared_ptr<const TokenMask> empty_mask_;

  absl::Mutex mu_;
  GrammarAutomaton automaton_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int32_t, std::shared_ptr<const TokenMask>> masks_
      ABSL_GUARDED_BY(mu_);
  // By group bits; their memory counts against mask_cache_bytes too.
  absl::flat_hash_map<uint64_t, std::unique_ptr<TokensWithin>> tokens_within_
      ABSL_GUARDED_BY(mu_);
  int64_t tokens_within_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Every character that steps differently in the automaton, in UTF-8 or
  // in TextSummary's groups, as one byte sequence of each (what
  // CharacterReach must try); no multi-byte ones when there would be too
  // many (then non-ASCII is never in a reach).
  std::vector<std::string> distinct_characters_;
  std::vector<int32_t> walk_states_ ABSL_GUARDED_BY(mu_);  // per trie depth
  // By automaton state (empty: not computed yet), a handful each; their
  // memory counts against mask_cache_bytes too.
  std::vector<std::vector<CharacterStep>> character_steps_ ABSL_GUARDED_BY(mu_);
  int64_t character_steps_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_COMPILED_CONSTRAINT_H_
