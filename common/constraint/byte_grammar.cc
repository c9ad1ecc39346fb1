// ByteGrammar: construction, size limits, and the left-recursion check.
#include "common/constraint/byte_grammar.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fm::constraint {

int32_t ByteGrammar::AddRule(std::string name) {
  rules_.push_back({std::move(name), {}});
  return static_cast<int32_t>(rules_.size()) - 1;
}

void ByteGrammar::AddAlternative(int32_t rule, Alternative alternative) {
  elements_ += static_cast<int64_t>(alternative.size()) + 1;
  rules_[rule].alternatives.push_back(std::move(alternative));
}

GrammarElement ByteGrammar::Bytes(const ByteSet& bytes) {
  // Compilers reuse few distinct sets; a linear scan over the last few
  // keeps literal-heavy grammars small without a hash of bitsets.
  const int32_t n = static_cast<int32_t>(byte_sets_.size());
  for (int32_t i = n - 1; i >= 0 && i >= n - 16; --i) {
    if (byte_sets_[i] == bytes) return {GrammarElement::Kind::kBytes, i};
  }
  byte_sets_.push_back(bytes);
  return {GrammarElement::Kind::kBytes, n};
}

int32_t ByteGrammar::Splice(const ByteGrammar& other, int32_t other_rule) {
  const int32_t offset = static_cast<int32_t>(rules_.size());
  std::vector<int32_t> set_index(other.byte_sets_.size());
  for (size_t i = 0; i < other.byte_sets_.size(); ++i) {
    set_index[i] = Bytes(other.byte_sets_[i]).index;
  }
  for (const GrammarRule& rule : other.rules_) {
    const int32_t here = AddRule(rule.name);
    for (const Alternative& alt : rule.alternatives) {
      Alternative copy = alt;
      for (GrammarElement& e : copy) {
        e.index = e.kind == GrammarElement::Kind::kBytes ? set_index[e.index]
                                                         : e.index + offset;
      }
      AddAlternative(here, std::move(copy));
    }
  }
  return other_rule + offset;
}

bool ByteGrammar::Trim() {
  // Productive rules by a worklist: an alternative is productive once all
  // its rule references are; a rule once one alternative is.
  const size_t n = rules_.size();
  std::vector<bool> productive(n, false);
  std::vector<std::vector<std::pair<int32_t, int32_t>>> users(n);
  std::vector<std::vector<int32_t>> pending(n);  // per rule, per alternative
  std::vector<int32_t> ready;
  for (size_t r = 0; r < n; ++r) {
    const auto& alts = rules_[r].alternatives;
    pending[r].assign(alts.size(), 0);
    for (size_t a = 0; a < alts.size(); ++a) {
      for (const GrammarElement& e : alts[a]) {
        if (e.kind == GrammarElement::Kind::kRule) {
          ++pending[r][a];
          users[e.index].push_back(
              {static_cast<int32_t>(r), static_cast<int32_t>(a)});
        } else if (byte_sets_[e.index].none()) {
          pending[r][a] = -(1 << 30);  // never productive
        }
      }
      if (pending[r][a] == 0 && !productive[r]) {
        productive[r] = true;
        ready.push_back(static_cast<int32_t>(r));
      }
    }
  }
  while (!ready.empty()) {
    const int32_t rule = ready.back();
    ready.pop_back();
    for (const auto& [user, alt] : users[rule]) {
      if (--pending[user][alt] == 0 && !productive[user]) {
        productive[user] = true;
        ready.push_back(user);
      }
    }
  }
  for (size_t r = 0; r < n; ++r) {
    auto& alts = rules_[r].alternatives;
    std::vector<Alternative> kept;
    for (size_t a = 0; a < alts.size(); ++a) {
      // A reference used twice in one alternative is counted twice above,
      // so recheck the elements themselves.
      bool ok = true;
      for (const GrammarElement& e : alts[a]) {
        ok = ok && (e.kind == GrammarElement::Kind::kRule
                        ? productive[e.index]
                        : byte_sets_[e.index].any());
      }
      if (ok) {
        kept.push_back(std::move(alts[a]));
      } else {
        elements_ -= static_cast<int64_t>(alts[a].size()) + 1;
      }
    }
    alts = std::move(kept);
  }
  return root_ >= 0 && root_ < static_cast<int32_t>(n) && productive[root_];
}

absl::Status ByteGrammar::CheckSize() const {
  if (elements_ > limits_.max_elements) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the constraint compiles to more than ",
                     limits_.max_elements, " grammar elements (the limit)"));
  }
  if (static_cast<int64_t>(rules_.size()) > limits_.max_rules) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the constraint compiles to more than ", limits_.max_rules,
                     " grammar rules (the limit)"));
  }
  return absl::OkStatus();
}

absl::Status ByteGrammar::Validate() const {
  if (root_ < 0 || root_ >= static_cast<int32_t>(rules_.size())) {
    return absl::InvalidArgumentError("the grammar has no root rule");
  }
  const int32_t n_rules = static_cast<int32_t>(rules_.size());
  const int32_t n_sets = static_cast<int32_t>(byte_sets_.size());
  for (const GrammarRule& rule : rules_) {
    for (const Alternative& alt : rule.alternatives) {
      for (const GrammarElement& e : alt) {
        const int32_t limit =
            e.kind == GrammarElement::Kind::kRule ? n_rules : n_sets;
        if (e.index < 0 || e.index >= limit) {
          return absl::InvalidArgumentError(absl::StrCat(
              "rule '", rule.name, "' refers to a missing element"));
        }
      }
    }
  }
  // Nullable rules (can match no bytes), to a fixed point.
  std::vector<bool> nullable(n_rules, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < n_rules; ++r) {
      if (nullable[r]) continue;
      for (const Alternative& alt : rules_[r].alternatives) {
        bool all = true;
        for (const GrammarElement& e : alt) {
          if (e.kind == GrammarElement::Kind::kBytes || !nullable[e.index]) {
            all = false;
            break;
          }
        }
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  // r -> s when s can be expanded at r's start (after nullable rules
  // only). An edge "pushes" when s is not the alternative's last element:
  // the recognizer then keeps a frame to return to. A cycle of such edges
  // through a pushing one grows the stack forever (left recursion); a
  // cycle of tail calls only revisits a state and is harmless ((a*)*).
  struct Edge {
    int32_t to;
    bool pushes;
  };
  std::vector<std::vector<Edge>> left(n_rules);
  for (int32_t r = 0; r < n_rules; ++r) {
    for (const Alternative& alt : rules_[r].alternatives) {
      for (size_t k = 0; k < alt.size(); ++k) {
        const GrammarElement& e = alt[k];
        if (e.kind == GrammarElement::Kind::kBytes) break;
        left[r].push_back({e.index, k + 1 < alt.size()});
        if (!nullable[e.index]) break;
      }
    }
  }
  // Strongly connected components (Kosaraju, iterative): finish order on
  // the graph, then components on the reversed graph.
  std::vector<int32_t> order;
  std::vector<bool> seen(n_rules, false);
  for (int32_t start = 0; start < n_rules; ++start) {
    if (seen[start]) continue;
    std::vector<std::pair<int32_t, size_t>> stack = {{start, 0}};
    seen[start] = true;
    while (!stack.empty()) {
      const int32_t r = stack.back().first;
      const size_t next = stack.back().second++;
      if (next == left[r].size()) {
        order.push_back(r);
        stack.pop_back();
        continue;
      }
      const int32_t s = left[r][next].to;
      if (!seen[s]) {
        seen[s] = true;
        stack.push_back({s, 0});
      }
    }
  }
  std::vector<std::vector<int32_t>> reversed(n_rules);
  for (int32_t r = 0; r < n_rules; ++r) {
    for (const Edge& e : left[r]) reversed[e.to].push_back(r);
  }
  std::vector<int32_t> component(n_rules, -1);
  int32_t components = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (component[*it] >= 0) continue;
    std::vector<int32_t> stack = {*it};
    component[*it] = components;
    while (!stack.empty()) {
      const int32_t r = stack.back();
      stack.pop_back();
      for (int32_t s : reversed[r]) {
        if (component[s] < 0) {
          component[s] = components;
          stack.push_back(s);
        }
      }
    }
    ++components;
  }
  for (int32_t r = 0; r < n_rules; ++r) {
    for (const Edge& e : left[r]) {
      if (e.pushes && component[e.to] == component[r]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rule '", rules_[e.to].name,
            "' is left-recursive (it can reach itself before matching any "
            "byte); rewrite it with repetition"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace fm::constraint
