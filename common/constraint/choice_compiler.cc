// CompileChoice: one alternative of literal bytes per choice.
#include "common/constraint/choice_compiler.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace fm::constraint {

int32_t AddLiteralTrie(const std::vector<std::string>& literals,
                       ByteGrammar* grammar) {
  // The trie: node 0 is the root; children by byte, sorted.
  struct Node {
    std::map<uint8_t, int32_t> children;
    bool end = false;
  };
  std::vector<Node> nodes(1);
  for (const std::string& literal : literals) {
    int32_t at = 0;
    for (char c : literal) {
      const uint8_t b = static_cast<uint8_t>(c);
      auto it = nodes[at].children.find(b);
      if (it == nodes[at].children.end()) {
        it = nodes[at]
                 .children.emplace(b, static_cast<int32_t>(nodes.size()))
                 .first;
        nodes.emplace_back();
      }
      at = it->second;
    }
    nodes[at].end = true;
  }
  // One rule per node that branches or ends; a chain of single-child
  // nodes becomes one run of bytes. Built from the deepest node up (nodes
  // are numbered in creation order, so children follow their parents).
  std::vector<int32_t> rule_of(nodes.size(), -1);
  auto one = [grammar](uint8_t b) {
    ByteSet set;
    set.set(b);
    return grammar->Bytes(set);
  };
  for (int32_t i = static_cast<int32_t>(nodes.size()) - 1; i >= 0; --i) {
    const Node& node = nodes[i];
    if (i != 0 && node.children.size() == 1 && !node.end) continue;  // a run
    const int32_t rule = grammar->AddRule("literals");
    if (node.end) grammar->AddAlternative(rule, {});
    for (const auto& [byte, first] : node.children) {
      Alternative alt = {one(byte)};
      int32_t at = first;
      while (nodes[at].children.size() == 1 && !nodes[at].end) {
        const auto& [b, next] = *nodes[at].children.begin();
        alt.push_back(one(b));
        at = next;
      }
      if (!nodes[at].children.empty()) {
        alt.push_back(ByteGrammar::Rule(rule_of[at]));
      }
      grammar->AddAlternative(rule, std::move(alt));
    }
    rule_of[i] = rule;
  }
  return rule_of[0];
}

absl::StatusOr<ByteGrammar> CompileChoice(
    const std::vector<std::string>& choices, const ChoiceLimits& limits) {
  if (choices.empty()) {
    return absl::InvalidArgumentError("choice: the list is empty");
  }
  if (static_cast<int64_t>(choices.size()) > limits.max_choices) {
    return absl::ResourceExhaustedError(absl::StrCat("choice: ", choices.size(),
                                                     " choices; the limit is ",
                                                     limits.max_choices));
  }
  int64_t total = 0;
  for (const std::string& c : choices) total += static_cast<int64_t>(c.size());
  if (total > limits.max_total_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("choice: ", total, " bytes in all; the limit is ",
                     limits.max_total_bytes));
  }
  GrammarLimits grammar_limits;
  grammar_limits.max_elements =
      total + 2 * static_cast<int64_t>(choices.size()) + 16;
  ByteGrammar grammar(grammar_limits);
  for (size_t i = 0; i < choices.size(); ++i) {
    FM_RETURN_IF_ERROR(
        ValidateUtf8(choices[i], absl::StrCat("choice[", i, "]")));
  }
  const int32_t root = AddLiteralTrie(choices, &grammar);
  grammar.set_root(root);
  FM_RETURN_IF_ERROR(grammar.Validate());
  return grammar;
}

}  // namespace fm::constraint
