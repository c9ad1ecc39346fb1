// ByteGrammar: a context-free grammar over bytes, the one form every
// constraint (regex, choice, and later JSON Schema and GBNF grammars)
// compiles to. A rule is a list of alternatives; an alternative a sequence
// of elements, each a set of bytes or a reference to a rule. Text is UTF-8,
// so a character outside ASCII is a sequence of byte sets.
#ifndef FM_COMMON_CONSTRAINT_BYTE_GRAMMAR_H_
#define FM_COMMON_CONSTRAINT_BYTE_GRAMMAR_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fm::constraint {

using ByteSet = std::bitset<256>;

struct GrammarElement {
  enum class Kind : uint8_t { kBytes, kRule };
  Kind kind = Kind::kBytes;
  // kBytes: index into ByteGrammar::byte_sets; kRule: index into rules.
  int32_t index = 0;
};

using Alternative = std::vector<GrammarElement>;

struct GrammarRule {
  std::string name;  // for messages ("root", "group@12", a GBNF name)
  std::vector<Alternative> alternatives;
};

// Bounds on what a compiler may build (a pattern that would exceed one is
// refused, RESOURCE_EXHAUSTED naming the limit).
struct GrammarLimits {
  int64_t max_elements = 200000;
  int64_t max_rules = 50000;
};

class ByteGrammar {
 public:
  explicit ByteGrammar(GrammarLimits limits = {}) : limits_(limits) {}

  // A new rule with no alternatives yet; returns its index.
  int32_t AddRule(std::string name);
  // Appends an alternative to `rule`.
  void AddAlternative(int32_t rule, Alternative alternative);
  // An element matching one byte of `bytes` (identical sets are shared).
  GrammarElement Bytes(const ByteSet& bytes);
  static GrammarElement Rule(int32_t rule) {
    return {GrammarElement::Kind::kRule, rule};
  }

  // Copies every rule of `other` into this grammar (byte sets shared,
  // references renumbered) and returns the index `other_rule` got here.
  int32_t Splice(const ByteGrammar& other, int32_t other_rule);

  void set_root(int32_t rule) { root_ = rule; }
  int32_t root() const { return root_; }
  const std::vector<GrammarRule>& rules() const { return rules_; }
  const std::vector<ByteSet>& byte_sets() const { return byte_sets_; }
  // Elements over all alternatives.
  int64_t size() const { return elements_; }

  // RESOURCE_EXHAUSTED once the grammar outgrew its limits (checked by the
  // compilers after each construct, so a blow-up stops early).
  absl::Status CheckSize() const;

  // The checks a recognizer relies on: a root exists, every reference is
  // in range, and no rule can reach itself again before consuming a byte
  // (left recursion, which a top-down recognizer would expand forever) —
  // INVALID_ARGUMENT naming the rule.
  absl::Status Validate() const;

  // Drops every alternative that can match nothing (it uses an empty byte
  // set or a rule that matches nothing), so that every prefix a
  // recognizer accepts can still be completed: no dead ends for a sampler
  // to walk into. False when the root itself matches nothing.
  bool Trim();

 private:
  GrammarLimits limits_;
  std::vector<GrammarRule> rules_;
  std::vector<ByteSet> byte_sets_;
  int32_t root_ = -1;
  int64_t elements_ = 0;
};

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_BYTE_GRAMMAR_H_
