// FuzzConstraint: compile under tight limits, then walk.
#include "tests/fuzz/constraint_fuzz.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/constraint/choice_compiler.h"
#include "common/constraint/compiled_constraint.h"
#include "common/constraint/gbnf_compiler.h"
#include "common/constraint/regex_compiler.h"
#include "common/constraint/token_trie.h"

namespace fm::fuzz {
namespace {

// Every single byte, a few multi-byte pieces (ASCII words, a split and a
// whole UTF-8 character), and an EOS.
std::shared_ptr<const constraint::TokenVocabulary> Vocabulary() {
  static const auto* vocab = [] {
    auto* v = new constraint::TokenVocabulary();
    for (int b = 0; b < 256; ++b)
      v->bytes.push_back(std::string(1, static_cast<char>(b)));
    for (const char* piece : {"ab", "abc", " the", "12", "\xC3\xA9", "{\"",
                              "\":", "aaaa", "\n\n"}) {
      v->bytes.push_back(piece);
    }
    v->bytes.push_back("");
    v->end_of_generation = {static_cast<TokenId>(v->bytes.size() - 1)};
    return v;
  }();
  return std::shared_ptr<const constraint::TokenVocabulary>(
      vocab, [](const constraint::TokenVocabulary*) {});
}

}  // namespace

int FuzzConstraint(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string source(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::StatusOr<constraint::ByteGrammar> grammar;
  constraint::GrammarLimits grammar_limits;
  grammar_limits.max_elements = 20000;
  grammar_limits.max_rules = 5000;
  if (data[0] & 1) {
    constraint::RegexLimits limits;
    limits.max_pattern_bytes = 4096;
    limits.grammar = grammar_limits;
    grammar = constraint::CompileRegex(source, limits);
  } else if (data[0] % 4 == 2) {
    constraint::GbnfLimits limits;
    limits.max_source_bytes = 4096;
    limits.max_repeat = 100;
    limits.grammar = grammar_limits;
    grammar = constraint::CompileGbnf(source, limits);
  } else {
    std::vector<std::string> choices = absl::StrSplit(source, '\n');
    constraint::ChoiceLimits limits;
    limits.max_choices = 256;
    grammar = constraint::CompileChoice(choices, limits);
  }
  if (!grammar.ok()) return 0;
  return WalkConstraint(*grammar, data, size);
}

int WalkConstraint(const constraint::ByteGrammar& grammar, const uint8_t* data,
                   size_t size) {
  auto vocab = Vocabulary();
  auto trie = std::make_shared<constraint::TokenTrie>(*vocab);
  constraint::AutomatonLimits automaton;
  automaton.max_states = 512;  // exercise the fresh starts too
  constraint::CompiledConstraint compiled(grammar, vocab, trie, 1 << 20,
                                          automaton);
  constraint::ConstraintState state = compiled.Initial();
  uint32_t pick = 2166136261u;  // FNV over the input picks the tokens
  for (size_t i = 0; i < size; ++i) pick = (pick ^ data[i]) * 16777619u;
  for (int step = 0; step < 24; ++step) {
    auto mask = compiled.Mask(state);
    std::vector<TokenId> allowed;
    for (TokenId id = 0; id < vocab->size(); ++id) {
      if (mask->allows(id)) allowed.push_back(id);
    }
    // A refused token is refused (on a copy: the state would fail).
    pick = pick * 1103515245u + 12345u;
    const TokenId probe = static_cast<TokenId>(pick % vocab->size());
    if (!mask->allows(probe)) {
      constraint::ConstraintState copy = state;
      if (compiled.Advance(copy, probe)) __builtin_trap();
    }
    if (allowed.empty()) break;
    pick = pick * 1103515245u + 12345u;
    const TokenId token = allowed[pick % allowed.size()];
    if (!compiled.Advance(state, token)) __builtin_trap();
    if (vocab->bytes[token].empty()) {  // EOS: the text must be complete
      if (!compiled.Complete(state)) __builtin_trap();
      break;
    }
  }
  return 0;
}

}  // namespace fm::fuzz
