// CompileRegex: a recursive-descent parser to a PatternNode tree, emitted
// into grammar rules by EmitPattern.
#include "common/constraint/regex_compiler.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/constraint/code_point_set.h"
#include "common/constraint/pattern_tree.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace fm::constraint {
namespace {

CodePointSet Digits() { return Range('0', '9'); }
CodePointSet WordChars() {
  CodePointSet s = Range('a', 'z');
  s.Add('A', 'Z');
  s.Add('0', '9');
  s.Add('_', '_');
  return s;
}
// ECMAScript's WhiteSpace and LineTerminator.
CodePointSet Spaces() {
  CodePointSet s = Range('\t', '\r');
  for (uint32_t cp : {0x20u, 0xA0u, 0x1680u, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu,
                      0x3000u, 0xFEFFu}) {
    s.Add(cp, cp);
  }
  s.Add(0x2000, 0x200A);
  return s;
}
CodePointSet LineTerminators() {
  CodePointSet s;
  for (uint32_t cp : {0x0Au, 0x0Du, 0x2028u, 0x2029u}) s.Add(cp, cp);
  return s;
}

class Parser {
 public:
  Parser(absl::string_view pattern, const RegexLimits& limits, RegexMatch match)
      : p_(pattern), limits_(limits), match_(match) {}

  absl::StatusOr<std::unique_ptr<PatternNode>> Parse() {
    if (static_cast<int64_t>(p_.size()) > limits_.max_pattern_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the regex has ", p_.size(), " bytes; the limit is ",
                       limits_.max_pattern_bytes));
    }
    FM_ASSIGN_OR_RETURN(auto node, ParseAlt());
    if (i_ < p_.size()) {
      return Error(p_[i_] == ')' ? "unmatched ')'" : "unexpected character");
    }
    return node;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("regex: ", what, " at offset ", i_));
  }
  // A feature outside what fmserve constrains (not a malformed pattern).
  absl::Status Unsupported(absl::string_view what) const {
    return absl::UnimplementedError(
        absl::StrCat("regex: ", what, " at offset ", i_,
                     " is not supported (it is not a regular language "
                     "feature fmserve constrains)"));
  }
  bool AtEnd() const { return i_ >= p_.size(); }
  char Peek() const { return p_[i_]; }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseAlt() {
    if (++depth_ > limits_.max_nesting) {
      return absl::ResourceExhaustedError(
          absl::StrCat("regex: groups nest deeper than ", limits_.max_nesting,
                       " (the limit) at offset ", i_));
    }
    auto alt = std::make_unique<PatternNode>();
    alt->kind = PatternNode::Kind::kAlt;
    const bool top = depth_ == 1;
    while (true) {
      FM_ASSIGN_OR_RETURN(auto branch, ParseConcat(top));
      if (top && match_ == RegexMatch::kSearch) {
        branch = Unanchor(std::move(branch));
      }
      alt->children.push_back(std::move(branch));
      if (AtEnd() || Peek() != '|') break;
      ++i_;
    }
    --depth_;
    if (alt->children.size() == 1) return std::move(alt->children[0]);
    return alt;
  }

  // A branch of an alternation; `top` for the pattern's own branches, which
  // may be anchored: '^' at their start, '$' at their end.
  absl::StatusOr<std::unique_ptr<PatternNode>> ParseConcat(bool top) {
    auto concat = std::make_unique<PatternNode>();
    concat->kind = PatternNode::Kind::kConcat;
    anchored_start_ = anchored_end_ = false;
    if (top && !AtEnd() && Peek() == '^') ++i_, anchored_start_ = true;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      if (Peek() == '$') {
        if (top && (i_ + 1 == p_.size() || p_[i_ + 1] == '|')) {
          ++i_;
          anchored_end_ = true;
          break;
        }
        return Unsupported("'$' before the end of a top-level alternative");
      }
      FM_ASSIGN_OR_RETURN(auto atom, ParseAtom());
      FM_ASSIGN_OR_RETURN(atom, ParseQuantifiers(std::move(atom)));
      concat->children.push_back(std::move(atom));
    }
    if (concat->children.size() == 1) return std::move(concat->children[0]);
    return concat;
  }

  // A search matches anywhere in the text: any characters may come before
  // a branch not anchored with '^' and after one not anchored with '$'.
  std::unique_ptr<PatternNode> Unanchor(std::unique_ptr<PatternNode> branch) {
    auto anything = [] {
      return RepeatNode(ClassNode(Range(0, kMaxCodePoint)), 0, -1);
    };
    std::vector<std::unique_ptr<PatternNode>> parts;
    if (!anchored_start_) parts.push_back(anything());
    parts.push_back(std::move(branch));
    if (!anchored_end_) parts.push_back(anything());
    return ConcatNode(std::move(parts));
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseQuantifiers(
      std::unique_ptr<PatternNode> atom) {
    while (!AtEnd()) {
      int32_t min = 0, max = 0;
      const char c = Peek();
      if (c == '*') {
        min = 0, max = -1, ++i_;
      } else if (c == '+') {
        min = 1, max = -1, ++i_;
      } else if (c == '?') {
        min = 0, max = 1, ++i_;
      } else if (c == '{' && IsCountedRepeat()) {
        FM_RETURN_IF_ERROR(ParseCount(&min, &max));
      } else {
        break;
      }
      if (!AtEnd() && Peek() == '?') ++i_;  // lazy: the same texts
      if (!AtEnd() && Peek() == '+')
        return Unsupported("a possessive quantifier");
      auto repeat = std::make_unique<PatternNode>();
      repeat->kind = PatternNode::Kind::kRepeat;
      repeat->min = min;
      repeat->max = max;
      repeat->children.push_back(std::move(atom));
      atom = std::move(repeat);
    }
    return atom;
  }

  // "{n}", "{n,}" or "{n,m}" follows (otherwise '{' is a literal, as in
  // ECMAScript's Annex B).
  bool IsCountedRepeat() const {
    size_t j = i_ + 1;
    size_t digits = 0;
    while (j < p_.size() && absl::ascii_isdigit(p_[j])) ++j, ++digits;
    if (digits == 0 || j >= p_.size()) return false;
    if (p_[j] == '}') return true;
    if (p_[j] != ',') return false;
    ++j;
    while (j < p_.size() && absl::ascii_isdigit(p_[j])) ++j;
    return j < p_.size() && p_[j] == '}';
  }

  absl::Status ParseCount(int32_t* min, int32_t* max) {
    ++i_;  // '{'
    FM_ASSIGN_OR_RETURN(*min, ParseNumber());
    *max = *min;
    if (Peek() == ',') {
      ++i_;
      if (Peek() == '}') {
        *max = -1;
      } else {
        FM_ASSIGN_OR_RETURN(*max, ParseNumber());
        if (*max < *min) return Error("{n,m} with m < n");
      }
    }
    ++i_;  // '}'
    return absl::OkStatus();
  }

  absl::StatusOr<int32_t> ParseNumber() {
    int64_t value = 0;
    while (!AtEnd() && absl::ascii_isdigit(Peek())) {
      value = value * 10 + (Peek() - '0');
      if (value > limits_.max_repeat) {
        return absl::ResourceExhaustedError(
            absl::StrCat("regex: a repetition count over ", limits_.max_repeat,
                         " (the limit) at offset ", i_));
      }
      ++i_;
    }
    return static_cast<int32_t>(value);
  }

  // One UTF-8 character of the pattern as a code point.
  absl::StatusOr<uint32_t> ParseLiteralChar() {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8At(p_, i_, &cp);
    if (n == 0) return Error("invalid UTF-8");
    i_ += n;
    return cp;
  }

  absl::StatusOr<uint32_t> ParseHex(int digits) {
    uint32_t value = 0;
    if (!ParseHexScalar(p_, &i_, digits, &value)) {
      return Error(
          "a malformed hexadecimal escape (or not a Unicode scalar value)");
    }
    return value;
  }

  // After '\': a set of code points (one for a plain escape).
  absl::StatusOr<CodePointSet> ParseEscape(bool in_class) {
    if (AtEnd()) return Error("a trailing backslash");
    const size_t backslash = i_ - 1;  // errors point at the escape
    const char c = Peek();
    ++i_;
    auto one = [](uint32_t cp) { return Range(cp, cp); };
    switch (c) {
      case 'd':
        return Digits();
      case 'D':
        return Digits().Complement();
      case 'w':
        return WordChars();
      case 'W':
        return WordChars().Complement();
      case 's':
        return Spaces();
      case 'S':
        return Spaces().Complement();
      case 'n':
        return one('\n');
      case 'r':
        return one('\r');
      case 't':
        return one('\t');
      case 'f':
        return one('\f');
      case 'v':
        return one('\v');
      case '0':
        if (!AtEnd() && absl::ascii_isdigit(Peek())) {
          i_ = backslash;
          return Unsupported("an octal escape");
        }
        return one(0);
      case 'x': {
        FM_ASSIGN_OR_RETURN(uint32_t cp, ParseHex(2));
        return one(cp);
      }
      case 'u': {
        uint32_t cp = 0;
        if (!AtEnd() && Peek() == '{') {
          ++i_;
          int digits = 0;
          while (!AtEnd() && Peek() != '}' && digits < 7) {
            FM_ASSIGN_OR_RETURN(uint32_t d, ParseHex(1));
            cp = cp * 16 + d;
            ++digits;
          }
          if (AtEnd() || Peek() != '}' || digits == 0) {
            return Error("a malformed \\u{...} escape");
          }
          ++i_;
        } else {
          FM_ASSIGN_OR_RETURN(cp, ParseHex(4));
        }
        if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Error("an escape that is not a Unicode scalar value");
        }
        return one(cp);
      }
      case 'b':
        if (in_class) return one('\b');
        i_ = backslash;
        return Unsupported("a word boundary (\\b)");
      case 'B':
        i_ = backslash;
        return Unsupported("\\B");
      case 'k':
        i_ = backslash;
        return Unsupported("a named backreference");
      case 'p':
      case 'P':
        i_ = backslash;
        return Unsupported("a Unicode property escape");
      case 'c':
        i_ = backslash;
        return Unsupported("a control escape");
      default:
        if (c >= '1' && c <= '9') {
          i_ = backslash;
          return Unsupported("a backreference");
        }
        if (absl::ascii_isalnum(c)) {
          i_ = backslash;
          return Error(absl::StrCat("an unknown escape \\", std::string(1, c)));
        }
        --i_;
        FM_ASSIGN_OR_RETURN(uint32_t cp, ParseLiteralChar());
        return one(cp);
    }
  }

  absl::StatusOr<CodePointSet> ParseClass() {
    ++i_;  // '['
    bool negated = false;
    if (!AtEnd() && Peek() == '^') negated = true, ++i_;
    CodePointSet set;
    while (true) {
      if (AtEnd()) return Error("an unterminated character class");
      if (Peek() == ']') {
        ++i_;
        break;
      }
      FM_ASSIGN_OR_RETURN(CodePointSet lo, ClassAtom());
      if (!AtEnd() && Peek() == '-' && i_ + 1 < p_.size() &&
          p_[i_ + 1] != ']') {
        ++i_;
        const size_t at = i_;
        FM_ASSIGN_OR_RETURN(CodePointSet hi, ClassAtom());
        if (lo.ranges().size() != 1 || hi.ranges().size() != 1 ||
            lo.ranges()[0].first != lo.ranges()[0].second ||
            hi.ranges()[0].first != hi.ranges()[0].second) {
          i_ = at;
          return Error("a class range with a set at one end");
        }
        const uint32_t a = lo.ranges()[0].first, b = hi.ranges()[0].first;
        if (b < a) {
          i_ = at;
          return Error("a class range out of order");
        }
        set.Add(a, b);
      } else {
        set.Add(lo);
      }
    }
    return negated ? set.Complement() : set;
  }

  absl::StatusOr<CodePointSet> ClassAtom() {
    if (Peek() == '\\') {
      ++i_;
      return ParseEscape(/*in_class=*/true);
    }
    if (Peek() == '[' && i_ + 1 < p_.size() &&
        (p_[i_ + 1] == ':' || p_[i_ + 1] == '=' || p_[i_ + 1] == '.')) {
      return Unsupported("a POSIX class");
    }
    FM_ASSIGN_OR_RETURN(uint32_t cp, ParseLiteralChar());
    return Range(cp, cp);
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseAtom() {
    const char c = Peek();
    switch (c) {
      case '(': {
        ++i_;
        if (!AtEnd() && Peek() == '?') {
          ++i_;
          if (!AtEnd() && Peek() == ':') {
            ++i_;
          } else if (!AtEnd() && Peek() == '<' && i_ + 1 < p_.size() &&
                     p_[i_ + 1] != '=' && p_[i_ + 1] != '!') {
            while (!AtEnd() && Peek() != '>') ++i_;
            if (AtEnd()) return Error("an unterminated group name");
            ++i_;
          } else {
            return Unsupported("lookaround or a group flag");
          }
        }
        FM_ASSIGN_OR_RETURN(auto inner, ParseAlt());
        if (AtEnd() || Peek() != ')') return Error("a missing ')'");
        ++i_;
        return inner;
      }
      case '[': {
        FM_ASSIGN_OR_RETURN(CodePointSet set, ParseClass());
        return ClassNode(std::move(set));
      }
      case '.':
        ++i_;
        return ClassNode(LineTerminators().Complement());
      case '\\': {
        ++i_;
        FM_ASSIGN_OR_RETURN(CodePointSet set, ParseEscape(/*in_class=*/false));
        return ClassNode(std::move(set));
      }
      case '^':
        return Unsupported("'^' after the start of a top-level alternative");
      case '*':
      case '+':
      case '?':
        return Error("a quantifier with nothing to repeat");
      case '{':
        if (IsCountedRepeat())
          return Error("a quantifier with nothing to repeat");
        break;
      case ']':
      case '}':
        break;  // literal, as ECMAScript's Annex B allows
      default:
        break;
    }
    FM_ASSIGN_OR_RETURN(uint32_t cp, ParseLiteralChar());
    return ClassNode(Range(cp, cp));
  }

  absl::string_view p_;
  const RegexLimits& limits_;
  const RegexMatch match_;
  size_t i_ = 0;
  int32_t depth_ = 0;
  // Anchors of the top-level branch parsed last.
  bool anchored_start_ = false, anchored_end_ = false;
};

}  // namespace

absl::StatusOr<int32_t> AddRegexRule(absl::string_view pattern,
                                     const RegexLimits& limits,
                                     ByteGrammar* grammar, RegexMatch match,
                                     TextEncoding encoding) {
  Parser parser(pattern, limits, match);
  FM_ASSIGN_OR_RETURN(std::unique_ptr<PatternNode> tree, parser.Parse());
  FM_ASSIGN_OR_RETURN(Alternative body, EmitPattern(*tree, grammar, encoding));
  const int32_t rule = grammar->AddRule("regex");
  grammar->AddAlternative(rule, std::move(body));
  FM_RETURN_IF_ERROR(grammar->CheckSize());
  return rule;
}

absl::StatusOr<ByteGrammar> CompileRegex(absl::string_view pattern,
                                         const RegexLimits& limits) {
  ByteGrammar grammar(limits.grammar);
  FM_ASSIGN_OR_RETURN(int32_t root, AddRegexRule(pattern, limits, &grammar));
  grammar.set_root(root);
  FM_RETURN_IF_ERROR(grammar.Validate());
  return grammar;
}

}  // namespace fm::constraint
