// The constraint engine against outside truth: the regex automaton agrees
// with std::regex (ECMAScript) on every string of small alphabets, token
// masks agree with walking each token alone, and the limits hold.
#include <catch2/catch.hpp>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/constraint/choice_compiler.h"
#include "common/constraint/compiled_constraint.h"
#include "common/constraint/gbnf_compiler.h"
#include "common/constraint/grammar_automaton.h"
#include "common/constraint/json_grammar.h"
#include "common/constraint/json_schema_compiler.h"
#include "common/constraint/regex_compiler.h"
#include "common/constraint/text_summary.h"
#include "common/constraint/token_trie.h"
#include "common/constraint/tokens_within.h"

namespace fm::constraint {
namespace {

// Full match of `text` by the automaton.
bool Matches(GrammarAutomaton& a, const std::string& text) {
  int32_t s = a.initial();
  for (char c : text) {
    s = a.Next(s, static_cast<uint8_t>(c));
    if (s == GrammarAutomaton::kDead) return false;
  }
  return a.Accepting(s);
}

// Every string over `alphabet` up to `max_len` characters.
std::vector<std::string> AllStrings(const std::string& alphabet, int max_len) {
  std::vector<std::string> out = {""};
  size_t begin = 0;
  for (int len = 1; len <= max_len; ++len) {
    const size_t end = out.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    begin = end;
  }
  return out;
}

TEST_CASE("regex full matches agree with std::regex", "[constraint]") {
  struct Case {
    const char* pattern;
    const char* alphabet;
    int max_len;
  };
  const std::vector<Case> cases = {
      {"abc", "abc", 4},
      {"a|b|", "ab", 3},
      {"(ab|a)(c|bcd)", "abcd", 5},
      {"a*", "ab", 5},
      {"a+b?", "ab", 5},
      {"(a*)*b", "ab", 6},
      {"(a|a)*b", "ab", 6},
      {"(?:ab){2,3}", "ab", 7},
      {"a{3}", "a", 5},
      {"a{2,}", "ab", 5},
      {"a{0,2}b{1,2}", "ab", 5},
      {"[a-c]+x", "abcdx", 4},
      {"[^a]b", "abc", 3},
      {"\\d{2}-\\d", "0a9-", 5},
      {"\\w+\\s?", "a_ -", 4},
      {"[\\d.]+", "1.a", 4},
      {"^(yes|no)$", "yesno", 4},
      {"x(?:y|z)*", "xyz", 4},
      {"a.c", "ab\nc", 3},
      {"[-a]b", "-ab", 3},
      {"(a?){3}", "a", 4},
      {"((a|b)*c)?", "abc", 5},
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    auto grammar = CompileRegex(c.pattern);
    REQUIRE(grammar.ok());
    GrammarAutomaton automaton(*grammar);
    const std::regex oracle(c.pattern, std::regex::ECMAScript);
    for (const std::string& text : AllStrings(c.alphabet, c.max_len)) {
      CAPTURE(text);
      CHECK(Matches(automaton, text) == std::regex_match(text, oracle));
    }
  }
}

TEST_CASE("regex classes and dots match whole UTF-8 characters",
          "[constraint]") {
  auto check = [](const char* pattern, const std::vector<std::string>& yes,
                  const std::vector<std::string>& no) {
    CAPTURE(pattern);
    auto grammar = CompileRegex(pattern);
    REQUIRE(grammar.ok());
    GrammarAutomaton a(*grammar);
    for (const auto& t : yes) {
      CAPTURE(t);
      CHECK(Matches(a, t));
    }
    for (const auto& t : no) {
      CAPTURE(t);
      CHECK_FALSE(Matches(a, t));
    }
  };
  check(".", {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"},
        {"", "\n", "\xC3", "\xC3\xA9\xC3\xA9", "\xED\xA0\x80", "\xFF"});
  check("[^a]", {"b", "\xC3\xA9", "\n", "\xF4\x8F\xBF\xBF"},
        {"a", "\xF4\x90\x80\x80", "\xC0\x80"});
  check("[\xCE\xB1-\xCF\x89]+", {"\xCE\xB2", "\xCE\xB1\xCF\x89"},
        {"a", "\xCE\x91"});
  check("\\u00e9|\\x41|\\u{1F600}", {"\xC3\xA9", "A", "\xF0\x9F\x98\x80"},
        {"e"});
  check("\\S\\D\\W", {"a\xC3\xA9-"}, {" a-", "a1-", "aa_"});
  check("caf\xC3\xA9", {"caf\xC3\xA9"}, {"cafe"});
  // Not a counted repeat: literal braces (ECMAScript Annex B).
  check("a{,2}", {"a{,2}"}, {"a", "aa"});
  check("x(?<name>y|z)+", {"xy", "xzy"}, {"x", "xa"});
}

TEST_CASE("a class of all of UTF-8 waits in one state per byte still due",
          "[constraint]") {
  // A counted class has its own states at every position; the bytes still
  // due of a character should not multiply them: the rest of a sequence
  // is shared, as many states as UTF-8 has between two characters (7).
  auto grammar = CompileRegex(".{0,40}");
  REQUIRE(grammar.ok());
  GrammarAutomaton a(*grammar);
  // One character of each shape UTF-8 tells apart by its first bytes.
  const std::vector<std::string> shapes = {"a",
                                           "\xC3\xA9",
                                           "\xE0\xA0\x80",
                                           "\xE1\x80\x80",
                                           "\xED\x80\x80",
                                           "\xEE\x80\x80",
                                           "\xF0\x90\x80\x80",
                                           "\xF1\x80\x80\x80",
                                           "\xF4\x80\x80\x80"};
  int32_t boundary = a.Next(a.initial(), 'a');
  for (int position = 0; position < 3; ++position) {
    CAPTURE(position);
    std::set<int32_t> inside, after;
    for (const std::string& c : shapes) {
      int32_t s = boundary;
      for (size_t i = 0; i < c.size(); ++i) {
        s = a.Next(s, static_cast<uint8_t>(c[i]));
        REQUIRE(s != GrammarAutomaton::kDead);
        if (i + 1 < c.size()) inside.insert(s);
      }
      after.insert(s);
    }
    CHECK(inside.size() == 7);
    REQUIRE(after.size() == 1);
    boundary = *after.begin();
  }
}

TEST_CASE("transitions do not depend on the order they are first asked for",
          "[constraint]") {
  // One computed transition fills every byte class the same stacks take;
  // asking for the bytes in either order must give the same language.
  const char* pattern = "(?:a|[ab]c|[abc]d|[^a-c]e)*";
  auto grammar = CompileRegex(pattern);
  REQUIRE(grammar.ok());
  const std::regex oracle(pattern, std::regex::ECMAScript);
  for (const std::string alphabet : {"abcde", "edcba"}) {
    CAPTURE(alphabet);
    GrammarAutomaton a(*grammar);
    for (const std::string& text : AllStrings(alphabet, 6)) {
      CAPTURE(text);
      CHECK(Matches(a, text) == std::regex_match(text, oracle));
    }
  }
}

TEST_CASE("unsupported regex features are refused with their offset",
          "[constraint]") {
  // Malformed: INVALID_ARGUMENT; well-formed but not regular: UNIMPLEMENTED.
  auto message = [](const char* pattern) {
    auto grammar = CompileRegex(pattern);
    REQUIRE_FALSE(grammar.ok());
    CHECK(absl::IsInvalidArgument(grammar.status()));
    return std::string(grammar.status().message());
  };
  auto unsupported = [](const char* pattern) {
    auto grammar = CompileRegex(pattern);
    REQUIRE_FALSE(grammar.ok());
    CHECK(absl::IsUnimplemented(grammar.status()));
    return std::string(grammar.status().message());
  };
  CHECK_THAT(unsupported("(a)\\1"),
             Catch::Contains("backreference") && Catch::Contains("offset 3"));
  CHECK_THAT(unsupported("a(?=b)"), Catch::Contains("lookaround"));
  CHECK_THAT(unsupported("\\bword"), Catch::Contains("word boundary"));
  CHECK_THAT(message("(ab"), Catch::Contains("missing ')'"));
  CHECK_THAT(message("ab)"),
             Catch::Contains("unmatched ')'") && Catch::Contains("offset 2"));
  CHECK_THAT(unsupported("a^b"), Catch::Contains("'^'"));
  CHECK_THAT(unsupported("a$b"), Catch::Contains("'$'"));
  CHECK_THAT(message("*a"), Catch::Contains("nothing to repeat"));
  CHECK_THAT(message("[b-a]"), Catch::Contains("out of order"));
  CHECK_THAT(message("[ab"), Catch::Contains("unterminated"));
  CHECK_THAT(message("a{3,2}"), Catch::Contains("m < n"));
  CHECK_THAT(message("\\q"), Catch::Contains("unknown escape"));
  CHECK_THAT(message("\xC3"), Catch::Contains("invalid UTF-8"));
}

TEST_CASE("regexes that would blow up hit a named limit", "[constraint]") {
  auto exhausted = [](const std::string& pattern) {
    auto grammar = CompileRegex(pattern);
    REQUIRE_FALSE(grammar.ok());
    CHECK(absl::IsResourceExhausted(grammar.status()));
    return std::string(grammar.status().message());
  };
  CHECK_THAT(exhausted("(a{1000}){1000}"), Catch::Contains("limit"));
  CHECK_THAT(exhausted("((((a{100}){100}){100}){100})"),
             Catch::Contains("limit"));
  CHECK_THAT(exhausted(std::string(300, '(') + "a" + std::string(300, ')')),
             Catch::Contains("nest deeper than 200"));
  CHECK_THAT(exhausted("a{100000}"), Catch::Contains("repetition count"));
  // Exponential for a backtracking engine; linear here.
  auto grammar = CompileRegex("(a|aa)*(a|aa)*(a|aa)*b");
  REQUIRE(grammar.ok());
  GrammarAutomaton a(*grammar);
  CHECK_FALSE(Matches(a, std::string(2000, 'a')));
  CHECK(Matches(a, std::string(2000, 'a') + "b"));
}

TEST_CASE("left recursion is refused, tail recursion is not", "[constraint]") {
  ByteGrammar g;
  const int32_t expr = g.AddRule("expr");
  ByteSet plus, digit;
  plus.set('+');
  digit.set('1');
  g.AddAlternative(expr,
                   {ByteGrammar::Rule(expr), g.Bytes(plus), g.Bytes(digit)});
  g.AddAlternative(expr, {g.Bytes(digit)});
  g.set_root(expr);
  absl::Status s = g.Validate();
  CHECK(absl::IsInvalidArgument(s));
  CHECK_THAT(std::string(s.message()),
             Catch::Contains("'expr' is left-recursive"));

  ByteGrammar right;
  const int32_t list = right.AddRule("list");
  right.AddAlternative(
      list, {right.Bytes(digit), right.Bytes(plus), ByteGrammar::Rule(list)});
  right.AddAlternative(list, {right.Bytes(digit)});
  right.set_root(list);
  REQUIRE(right.Validate().ok());
  GrammarAutomaton a(right);
  CHECK(Matches(a, "1+1+1"));
  CHECK_FALSE(Matches(a, "1+"));
  // Right recursion in tail position keeps a bounded number of states.
  CHECK(Matches(
      a, std::string("1") + [] {
        std::string s;
        for (int i = 0; i < 1000; ++i) s += "+1";
        return s;
      }()));
  CHECK(a.state_count() < 10);
}

// A vocabulary of short pieces, some multi-byte, with an EOS at the end.
std::shared_ptr<TokenVocabulary> Vocabulary() {
  auto v = std::make_shared<TokenVocabulary>();
  v->bytes = {"",   "a",   "b",   "ab", "abc",  "ba",   "1",
              "12", "2",   " ",   "a ", "\xC3", "\xA9", "\xC3\xA9",
              "c",  "cat", "car", "ca", "t",    "r",    ""};
  v->end_of_generation = {20};
  return v;
}

// Token i allowed iff its own bytes lead somewhere live (or, for EOS, the
// state accepts): the definition, computed without the trie.
std::vector<bool> BruteForceMask(GrammarAutomaton& a, int32_t state,
                                 const TokenVocabulary& v) {
  std::vector<bool> allowed(v.size(), false);
  for (TokenId id = 0; id < v.size(); ++id) {
    if (v.bytes[id].empty()) continue;
    int32_t s = state;
    for (char c : v.bytes[id]) {
      s = a.Next(s, static_cast<uint8_t>(c));
      if (s == GrammarAutomaton::kDead) break;
    }
    allowed[id] = s != GrammarAutomaton::kDead;
  }
  if (a.Accepting(state)) {
    for (TokenId id : v.end_of_generation) allowed[id] = true;
  }
  return allowed;
}

TEST_CASE("token masks are exactly the tokens that can continue",
          "[constraint]") {
  auto vocab = Vocabulary();
  auto trie = std::make_shared<TokenTrie>(*vocab);
  for (const char* pattern :
       {"(ab|ba)+c?", "a b*", "\\d+", "(c|\xC3\xA9)a+t", "[ab]{2,4}"}) {
    CAPTURE(pattern);
    auto grammar = CompileRegex(pattern);
    REQUIRE(grammar.ok());
    CompiledConstraint compiled(*grammar, vocab, trie);
    GrammarAutomaton oracle(*grammar);
    // Walk random allowed tokens; at every step compare the mask.
    std::mt19937 rng(7);
    for (int run = 0; run < 20; ++run) {
      ConstraintState state = compiled.Initial();
      int32_t oracle_state = oracle.initial();
      for (int step = 0; step < 8; ++step) {
        auto mask = compiled.Mask(state);
        const std::vector<bool> expected =
            BruteForceMask(oracle, oracle_state, *vocab);
        std::vector<TokenId> allowed;
        for (TokenId id = 0; id < vocab->size(); ++id) {
          CAPTURE(id);
          CHECK(mask->allows(id) == expected[id]);
          if (expected[id]) allowed.push_back(id);
        }
        if (allowed.empty()) break;
        const TokenId pick = allowed[rng() % allowed.size()];
        REQUIRE(compiled.Advance(state, pick));
        if (pick == 20) {
          CHECK(compiled.Complete(state));
          break;
        }
        for (char c : vocab->bytes[pick]) {
          oracle_state = oracle.Next(oracle_state, static_cast<uint8_t>(c));
        }
      }
    }
  }
}

// A vocabulary where wide states matter: tokens of 1 to 60 characters
// (prefixes of one another, so the trie has deep chains) over letters,
// digits, quotes, backslashes, blanks, multi-byte characters, cut-short
// and stray UTF-8 bytes and invalid bytes; EOS last.
std::shared_ptr<TokenVocabulary> WideVocabulary() {
  const std::vector<std::string> pieces = {"a",
                                           "b",
                                           "z",
                                           "Q",
                                           "0",
                                           "7",
                                           "e",
                                           "s",
                                           " ",
                                           "  ",
                                           "\n",
                                           "\t",
                                           "\"",
                                           "\\",
                                           "{",
                                           "}",
                                           ":",
                                           ",",
                                           ".",
                                           "!",
                                           "-",
                                           "\xC3\xA9",
                                           "\xE4\xB8\xAD",
                                           "\xF0\x9F\x98\x80",
                                           "\xC3",
                                           "\xA9",
                                           "\xE4\xB8",
                                           "\x9F",
                                           "\xFF",
                                           "\xC0\x80",
                                           "\x01",
                                           "\xED\xA0\x80"};
  // Mostly letters and blanks, as real vocabularies are.
  std::vector<double> weights(pieces.size(), 1.0);
  for (int i : {0, 1, 2, 6, 7, 8}) weights[i] = 12.0;
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  std::mt19937 rng(11);
  auto v = std::make_shared<TokenVocabulary>();
  v->bytes.push_back("");  // padding, never a token
  for (int t = 0; t < 1500; ++t) {
    const int length = 1 + static_cast<int>(rng() % (rng() % 4 == 0 ? 60 : 8));
    std::string token;
    for (int c = 0; c < length; ++c) {
      token += pieces[pick(rng)];
      if (t % 5 == 0) v->bytes.push_back(token);  // the chain of prefixes
    }
    v->bytes.push_back(token);
  }
  v->end_of_generation = {static_cast<TokenId>(v->bytes.size())};
  v->bytes.push_back("");
  return v;
}

// Masks in wide states (a string's body, free text) start from
// TokensWithin and skip trie subtrees by their TextSummary; every mask
// along random walks must still be exactly the brute-force one.
TEST_CASE("masks that take wide states whole are exact", "[constraint]") {
  auto vocab = WideVocabulary();
  auto trie = std::make_shared<TokenTrie>(*vocab);
  struct Case {
    std::string name;
    absl::StatusOr<ByteGrammar> grammar;
  };
  std::vector<Case> cases;
  cases.push_back({"string, maxLength 12",
                   CompileJsonSchema(R"({"type":"string","maxLength":12})")});
  cases.push_back(
      {"string, 3 to 40",
       CompileJsonSchema(R"({"type":"string","minLength":3,"maxLength":40})")});
  cases.push_back(
      {"object", CompileJsonSchema(
                     R"({"type":"object","properties":{"name":{"type":"string",
               "maxLength":30},"bio":{"type":"string"}},
               "required":["name","bio"],"additionalProperties":false})")});
  cases.push_back({"[^\"]*\"", CompileRegex("[^\"]*\"")});
  cases.push_back({"sentence", CompileRegex("[A-Z][^\\n.!?]{0,50}[.!?]")});
  cases.push_back({"letters and blanks", CompileRegex("[a-z ]{0,45}!")});
  cases.push_back({"any JSON", CompileJsonGrammar({})});
  for (Case& c : cases) {
    CAPTURE(c.name);
    REQUIRE(c.grammar.ok());
    CompiledConstraint compiled(*c.grammar, vocab, trie);
    GrammarAutomaton oracle(*c.grammar);
    std::mt19937 rng(5);
    int64_t masks = 0, wrong = 0;
    for (int run = 0; run < 12; ++run) {
      ConstraintState state = compiled.Initial();
      int32_t oracle_state = oracle.initial();
      for (int step = 0; step < 40; ++step) {
        auto mask = compiled.Mask(state);
        const std::vector<bool> expected =
            BruteForceMask(oracle, oracle_state, *vocab);
        std::vector<TokenId> allowed;
        for (TokenId id = 0; id < vocab->size(); ++id) {
          if (mask->allows(id) != expected[id]) ++wrong;
          if (expected[id]) allowed.push_back(id);
        }
        ++masks;
        if (allowed.empty()) break;
        // Mostly long tokens: they are what a shortcut could get wrong.
        TokenId pick = allowed[rng() % allowed.size()];
        for (int tries = 0; tries < 3 && vocab->bytes[pick].size() < 6;
             ++tries) {
          pick = allowed[rng() % allowed.size()];
        }
        REQUIRE(compiled.Advance(state, pick));
        if (vocab->bytes[pick].empty()) break;  // EOS
        for (char ch : vocab->bytes[pick]) {
          oracle_state = oracle.Next(oracle_state, static_cast<uint8_t>(ch));
        }
      }
    }
    CHECK(wrong == 0);
    CHECK(masks > 12);
  }
}

// SummarizeText's UTF-8 check against a decoder written from RFC 3629
// (no overlong forms, no surrogates, nothing above U+10FFFF), on every
// sequence of up to three bytes from a set that covers each boundary.
bool ReferenceUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    int extra;
    uint32_t cp;
    if (b < 0x80) {
      extra = 0, cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      extra = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3, cp = b & 0x07;
    } else {
      return false;
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= text.size()) {
        // A cut-short last character counts as UTF-8 when some valid
        // character starts with these bytes: check the bits seen so far.
        const int seen = k - 1;
        const uint32_t low = cp << (6 * (extra - seen));
        const uint32_t high = low | ((1u << (6 * (extra - seen))) - 1);
        const uint32_t min = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
        const bool some = high >= min && low <= 0x10FFFF &&
                          !(low >= 0xD800 && high <= 0xDFFF);
        return some;
      }
      const uint8_t c = static_cast<uint8_t>(text[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3F);
    }
    const uint32_t min = extra == 0   ? 0
                         : extra == 1 ? 0x80
                         : extra == 2 ? 0x800
                                      : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

TEST_CASE("text summaries: UTF-8 as RFC 3629 has it, groups, lengths",
          "[constraint]") {
  const std::vector<uint8_t> bytes = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                      0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                      0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1,
                                      0xF3, 0xF4, 0xF5, 0xFF};
  int64_t checked = 0;
  std::vector<std::string> texts = {""};
  for (int length = 1; length <= 3; ++length) {
    std::vector<std::string> longer;
    for (const std::string& t : texts) {
      for (uint8_t b : bytes) longer.push_back(t + static_cast<char>(b));
    }
    for (const std::string& t : longer) {
      CAPTURE(t);
      const uint64_t summary = SummarizeText(t);
      CHECK(((summary & kNotUtf8) == 0) == ReferenceUtf8(t));
      ++checked;
    }
    texts = std::move(longer);
  }
  CHECK(checked == 25 + 25 * 25 + 25 * 25 * 25);
  // Four-byte characters at the edges.
  CHECK((SummarizeText("\xF0\x90\x80\x80") & kNotUtf8) == 0);  // U+10000
  CHECK((SummarizeText("\xF4\x8F\xBF\xBF") & kNotUtf8) == 0);  // U+10FFFF
  CHECK((SummarizeText("\xF4\x90\x80\x80") & kNotUtf8) != 0);  // above
  CHECK((SummarizeText("\xF0\x8F\xBF\xBF") & kNotUtf8) != 0);  // overlong
  // Lengths count started characters; groups are those of the bytes.
  CHECK(SummaryLength(SummarizeText("a\xC3\xA9z")) == 3);
  CHECK(SummaryLength(SummarizeText("ab\xC3")) == 3);
  CHECK(SummaryLength(SummarizeText(std::string(300, 'x'))) == 255);
  const uint64_t quote = SummarizeText("\"x");
  CHECK((quote & (uint64_t{1} << ByteGroup('"'))) != 0);
  CHECK((quote & (uint64_t{1} << ByteGroup('x'))) != 0);
  CHECK((quote & (uint64_t{1} << ByteGroup('\\'))) == 0);
  // Every byte is in exactly one group, and GroupBytes lists it there.
  int listed = 0;
  for (int g = 0; g < kByteGroups; ++g) {
    for (char b : GroupBytes(g)) {
      CHECK(ByteGroup(static_cast<uint8_t>(b)) == g);
      ++listed;
    }
  }
  CHECK(listed == 256);
}

// TokensWithin's packed masks against the definition, token by token.
TEST_CASE("tokens within groups, by length, packed eight at a time",
          "[constraint]") {
  auto vocab = WideVocabulary();
  TokenTrie trie(*vocab);
  const uint64_t letters =
      (uint64_t{1} << ByteGroup('a')) | (uint64_t{1} << ByteGroup('z')) |
      (uint64_t{1} << ByteGroup('e')) | (uint64_t{1} << ByteGroup(' '));
  for (uint64_t groups :
       {letters, letters | (uint64_t{1} << kNonAsciiGroup),
        kGroupBits & ~(uint64_t{1} << ByteGroup('"')), kGroupBits}) {
    CAPTURE(groups);
    TokensWithin within(trie, groups);
    for (int32_t length : {1, 2, 7, 32, 33, 200}) {
      CAPTURE(length);
      const std::vector<uint64_t>& words = within.UpTo(length);
      int64_t wrong = 0, in = 0;
      for (TokenId id = 0; id < vocab->size(); ++id) {
        const uint64_t summary = trie.token_summaries()[id];
        const int32_t n = SummaryLength(summary);
        const bool expected =
            !vocab->bytes[id].empty() &&
            (summary & ((kGroupBits & ~groups) | kNotUtf8)) == 0 &&
            (length > TokensWithin::kMaxLength || n <= length);
        const bool got = (words[id >> 6] >> (id & 63)) & 1;
        if (got != expected) ++wrong;
        if (got) ++in;
      }
      CHECK(wrong == 0);
      if (groups == kGroupBits && length > 1) CHECK(in > 0);
    }
  }
}

TEST_CASE(
    "a refused token fails the state, and EOS comes only where text may end",
    "[constraint]") {
  auto vocab = Vocabulary();
  auto trie = std::make_shared<TokenTrie>(*vocab);
  auto grammar = CompileChoice({"cat", "car"});
  REQUIRE(grammar.ok());
  CompiledConstraint compiled(*grammar, vocab, trie);
  ConstraintState state = compiled.Initial();
  auto first = compiled.Mask(state);
  CHECK(first->allows(14));  // "c"
  CHECK(first->allows(15));  // "cat"
  CHECK(first->allows(17));  // "ca"
  CHECK_FALSE(first->allows(1));
  CHECK_FALSE(first->allows(20));        // EOS: nothing matched yet
  REQUIRE(compiled.Advance(state, 17));  // "ca"
  auto second = compiled.Mask(state);
  CHECK(second->count() == 2);           // "t", "r"
  REQUIRE(compiled.Advance(state, 19));  // "r"
  auto done = compiled.Mask(state);
  CHECK(done->count() == 1);
  CHECK(done->allows(20));
  CHECK(compiled.Complete(state));

  ConstraintState bad = compiled.Initial();
  CHECK_FALSE(compiled.Advance(bad, 2));  // "b"
  CHECK(bad.failed);
  CHECK(compiled.Mask(bad)->count() == 0);
  CHECK_FALSE(compiled.Complete(bad));
  // A forked copy is independent.
  ConstraintState fork = state;
  CHECK(compiled.Complete(fork));
}

TEST_CASE("masks stay right when the automaton starts afresh", "[constraint]") {
  auto vocab = Vocabulary();
  auto trie = std::make_shared<TokenTrie>(*vocab);
  auto grammar = CompileRegex("(ab|ba|12|c|a )+");
  REQUIRE(grammar.ok());
  AutomatonLimits tiny;
  tiny.max_states = 3;  // reset on almost every mask
  CompiledConstraint small(*grammar, vocab, trie, 64 << 20, tiny);
  CompiledConstraint large(*grammar, vocab, trie);
  ConstraintState a = small.Initial(), b = large.Initial();
  const std::vector<TokenId> tokens = {3,  5,  7,
                                       14, 10, 3};  // ab ba 12 c "a " ab
  for (TokenId t : tokens) {
    auto ma = small.Mask(a);
    auto mb = large.Mask(b);
    CHECK(ma->words == mb->words);
    REQUIRE(small.Advance(a, t));
    REQUIRE(large.Advance(b, t));
  }
  CHECK(small.Complete(a));
}

TEST_CASE("choices: empty list, bad UTF-8 and huge lists are refused",
          "[constraint]") {
  CHECK(absl::IsInvalidArgument(CompileChoice({}).status()));
  auto bad = CompileChoice({"ok", "\xC3"});
  CHECK(absl::IsInvalidArgument(bad.status()));
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("choice[1]"));
  std::vector<std::string> many(5000, "x");
  CHECK(absl::IsResourceExhausted(CompileChoice(many).status()));
}

TEST_CASE("the token trie holds every token with bytes once, in preorder",
          "[constraint]") {
  auto vocab = Vocabulary();
  TokenTrie trie(*vocab);
  std::vector<int> seen(vocab->size(), 0);
  for (TokenId id : trie.tokens()) ++seen[id];
  for (TokenId id = 0; id < vocab->size(); ++id) {
    CHECK(seen[id] == (vocab->bytes[id].empty() ? 0 : 1));
  }
  // Rebuild each token's bytes from the path to its node.
  std::vector<char> path;
  for (const auto& node : trie.nodes()) {
    path.resize(node.depth - 1);
    path.push_back(static_cast<char>(node.byte));
    for (int32_t t = node.tokens_begin; t < node.tokens_end; ++t) {
      CHECK(std::string(path.begin(), path.end()) ==
            vocab->bytes[trie.tokens()[t]]);
    }
  }
}

}  // namespace
}  // namespace fm::constraint

namespace fm::constraint {
namespace {

bool GrammarMatches(const ByteGrammar& g, const std::string& text) {
  GrammarAutomaton a(g);
  return Matches(a, text);
}

TEST_CASE("GBNF grammars: rules, forward references, classes, repetition",
          "[constraint][gbnf]") {
  auto grammar = CompileGbnf(R"(
# A list of answers.
root   ::= answer ( "," ws answer )*
answer ::= "yes" | "no" | number | quoted
number ::= [1-9] [0-9]{0,2}
quoted ::= "\"" [^"\n]+ "\""
ws     ::= [ \t]?
)");
  INFO(grammar.status());
  REQUIRE(grammar.ok());
  for (const char* yes :
       {"yes", "no,yes", "12, no", "\"caf\xC3\xA9\"", "999,\t1"}) {
    CAPTURE(yes);
    CHECK(GrammarMatches(*grammar, yes));
  }
  for (const char* no :
       {"", "yes,", "0", "1000", "\"\"", "yes,  no", "maybe"}) {
    CAPTURE(no);
    CHECK_FALSE(GrammarMatches(*grammar, no));
  }
  // Escapes and a multi-line body.
  auto escapes = CompileGbnf(
      "root ::= \"\\x41\\u00e9\\t\" [\\[\\]\\-]\n"
      "        (\"a\" |\n"
      "         \"b\")");
  REQUIRE(escapes.ok());
  CHECK(GrammarMatches(*escapes, "A\xC3\xA9\t[a"));
  CHECK(GrammarMatches(*escapes, "A\xC3\xA9\t-b"));
  CHECK_FALSE(GrammarMatches(*escapes, "A\xC3\xA9\tXa"));
}

TEST_CASE("GBNF errors name the rule and the line", "[constraint][gbnf]") {
  auto message = [](const std::string& source) {
    auto g = CompileGbnf(source);
    REQUIRE_FALSE(g.ok());
    CHECK(absl::IsInvalidArgument(g.status()));
    return std::string(g.status().message());
  };
  CHECK_THAT(message("root ::= item\n"),
             Catch::Contains("'item' is used but not defined") &&
                 Catch::Contains("line 1"));
  CHECK_THAT(message("root ::= \"a\"\nroot ::= \"b\"\n"),
             Catch::Contains("defined twice") && Catch::Contains("line 2"));
  CHECK_THAT(message("item ::= \"a\"\n"), Catch::Contains("no 'root'"));
  CHECK_THAT(message("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"\n"),
             Catch::Contains("'expr' is left-recursive"));
  CHECK_THAT(message("root ::= \"abc\n\""), Catch::Contains("unterminated"));
  CHECK_THAT(message("root ::= [b-a]"), Catch::Contains("out of order"));
  CHECK_THAT(message("root ::= \"a\" )"), Catch::Contains("line 1 column 14"));
  CHECK(absl::IsResourceExhausted(
      CompileGbnf("root ::= (\"ab\"{1000}){1000}").status()));
}

// Random JSON (valid), serialized compactly or with a little whitespace.
std::string RandomJson(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 5 : 7));
  auto ws = [&] { return std::string(rng() % 3, " \n\t"[rng() % 3]); };
  switch (kind) {
    case 0:
      return "null";
    case 1:
      return rng() % 2 ? "true" : "false";
    case 2: {
      static const char* const kNumbers[] = {"0",   "-0",       "12",   "-3.25",
                                             "1e9", "6.02E+23", "7e-1", "100"};
      return kNumbers[rng() % 8];
    }
    case 3:
    case 4: {
      static const char* const kStrings[] = {
          "\"\"",        "\"a b\"",         "\"\\n\\\"\"",
          "\"\\u00e9\"", "\"caf\xC3\xA9\"", "\"\\\\\""};
      return kStrings[rng() % 6];
    }
    case 5: {
      std::string out = "[" + ws();
      const int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        if (i) out += "," + ws();
        out += RandomJson(rng, depth + 1) + ws();
      }
      return out + "]";
    }
    default: {
      std::string out = "{" + ws();
      const int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        if (i) out += "," + ws();
        out += "\"k" + std::to_string(i) + "\"" + ws() + ":" + ws() +
               RandomJson(rng, depth + 1) + ws();
      }
      return out + "}";
    }
  }
}

TEST_CASE("the JSON grammar agrees with an independent JSON parser",
          "[constraint][json]") {
  auto grammar = CompileJsonGrammar({});
  INFO(grammar.status());
  REQUIRE(grammar.ok());
  GrammarAutomaton automaton(*grammar);
  std::mt19937 rng(2026);
  int valid = 0, invalid = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = RandomJson(rng, 0);
    if (i % 2 == 1) {  // mutate: the parser decides what is still JSON
      const std::string alphabet = "{}[]\",:0123456789.eE+-tfnul \\a";
      for (int k = 1 + static_cast<int>(rng() % 3); k > 0 && !text.empty();
           --k) {
        const size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[at] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            text.erase(at, 1);
            break;
          default:
            text.insert(at, 1, alphabet[rng() % alphabet.size()]);
        }
      }
    }
    // The grammar allows no whitespace around the whole text.
    if (text.empty() ||
        std::isspace(static_cast<unsigned char>(text.front())) ||
        std::isspace(static_cast<unsigned char>(text.back()))) {
      continue;
    }
    CAPTURE(text);
    const bool accepted = nlohmann::json::accept(text);
    CHECK(Matches(automaton, text) == accepted);
    (accepted ? valid : invalid) += 1;
  }
  CHECK(valid > 1000);
  CHECK(invalid > 500);
}

TEST_CASE("JSON mode: objects only, whitespace bounded", "[constraint][json]") {
  JsonGrammarOptions options;
  options.object_only = true;
  options.max_whitespace = 2;
  auto grammar = CompileJsonGrammar(options);
  REQUIRE(grammar.ok());
  GrammarAutomaton a(*grammar);
  CHECK(Matches(a, "{\"a\": [1, 2]}"));
  CHECK(Matches(a, "{\n \"a\":1}"));
  CHECK_FALSE(Matches(a, "[1]"));
  CHECK_FALSE(Matches(a, "{\n  \"a\":1}"));  // three blanks in one gap
  // Whatever comes, an endless run of blanks is never possible.
  int32_t s = a.initial();
  s = a.Next(s, '{');
  int blanks = 0;
  while (s != GrammarAutomaton::kDead && blanks < 100) {
    s = a.Next(s, ' ');
    ++blanks;
  }
  CHECK(blanks == 3);
}

}  // namespace
}  // namespace fm::constraint
