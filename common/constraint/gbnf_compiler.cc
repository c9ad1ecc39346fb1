// CompileGbnf: a recursive-descent parser to one PatternNode tree per rule,
// rule names resolved to grammar rules as they are met (forward references
// allowed), then EmitPattern for each rule's alternatives.
#include "common/constraint/gbnf_compiler.h"

#include <map>
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

bool IsNameChar(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_';
}

class GbnfParser {
 public:
  GbnfParser(absl::string_view source, const GbnfLimits& limits,
             ByteGrammar* grammar)
      : s_(source), limits_(limits), g_(*grammar) {}

  absl::Status Parse() {
    if (static_cast<int64_t>(s_.size()) > limits_.max_source_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("grammar: ", s_.size(), " bytes; the limit is ",
                       limits_.max_source_bytes));
    }
    SkipSpace();
    while (!AtEnd()) {
      FM_RETURN_IF_ERROR(ParseRule());
      SkipSpace();
    }
    for (const auto& [name, rule] : rules_) {
      if (!rule.defined) {
        i_ = rule.first_use;
        return Error(absl::StrCat("rule '", name, "' is used but not defined"));
      }
    }
    auto root = rules_.find("root");
    if (root == rules_.end()) {
      return absl::InvalidArgumentError(
          "grammar: no 'root' rule (the rule the whole text must match)");
    }
    g_.set_root(root->second.index);
    return absl::OkStatus();
  }

 private:
  struct RuleRef {
    int32_t index;
    bool defined = false;
    size_t first_use = 0;
  };

  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return s_[i_]; }

  absl::Status Error(absl::string_view what) const {
    int line = 1, column = 1;
    for (size_t k = 0; k < i_ && k < s_.size(); ++k) {
      if (s_[k] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("grammar: ", what, " at line ", line, " column ", column));
  }

  // Spaces, tabs, newlines and # comments.
  void SkipSpace() {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '#') {
        while (!AtEnd() && Peek() != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  std::string ParseName() {
    const size_t start = i_;
    while (!AtEnd() && IsNameChar(Peek())) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  // A name followed by "::=" begins the next rule.
  bool AtRuleStart() {
    const size_t saved = i_;
    const std::string name = ParseName();
    SkipSpace();
    const bool start = !name.empty() && s_.substr(i_, 3) == "::=";
    i_ = saved;
    return start;
  }

  RuleRef& Reference(const std::string& name, size_t at) {
    auto it = rules_.find(name);
    if (it == rules_.end()) {
      it = rules_.emplace(name, RuleRef{g_.AddRule(name), false, at}).first;
    }
    return it->second;
  }

  absl::Status ParseRule() {
    const size_t at = i_;
    const std::string name = ParseName();
    if (name.empty()) return Error("expected a rule name");
    SkipSpace();
    if (s_.substr(i_, 3) != "::=") return Error("expected '::='");
    i_ += 3;
    RuleRef& rule = Reference(name, at);
    if (rule.defined) {
      i_ = at;
      return Error(absl::StrCat("rule '", name, "' is defined twice"));
    }
    rule.defined = true;
    const int32_t index = rule.index;  // `rule` may move as rules_ grows
    FM_ASSIGN_OR_RETURN(std::unique_ptr<PatternNode> body, ParseAlternatives());
    // The top-level alternatives become the rule's own.
    if (body->kind == PatternNode::Kind::kAlt) {
      for (const auto& branch : body->children) {
        FM_ASSIGN_OR_RETURN(Alternative seq, EmitPattern(*branch, &g_));
        g_.AddAlternative(index, std::move(seq));
      }
    } else {
      FM_ASSIGN_OR_RETURN(Alternative seq, EmitPattern(*body, &g_));
      g_.AddAlternative(index, std::move(seq));
    }
    return g_.CheckSize();
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseAlternatives() {
    if (++depth_ > limits_.max_nesting) {
      return absl::ResourceExhaustedError(
          absl::StrCat("grammar: groups nest deeper than ", limits_.max_nesting,
                       " (the limit)"));
    }
    auto alt = std::make_unique<PatternNode>();
    alt->kind = PatternNode::Kind::kAlt;
    while (true) {
      FM_ASSIGN_OR_RETURN(auto seq, ParseSequence());
      alt->children.push_back(std::move(seq));
      SkipSpace();
      if (AtEnd() || Peek() != '|') break;
      ++i_;
    }
    --depth_;
    if (alt->children.size() == 1) return std::move(alt->children[0]);
    return alt;
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseSequence() {
    auto seq = std::make_unique<PatternNode>();
    seq->kind = PatternNode::Kind::kConcat;
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() == '|' || Peek() == ')') break;
      if (IsNameChar(Peek()) && AtRuleStart()) break;
      FM_ASSIGN_OR_RETURN(auto item, ParsePrimary());
      FM_ASSIGN_OR_RETURN(item, ParseQuantifiers(std::move(item)));
      seq->children.push_back(std::move(item));
    }
    if (seq->children.size() == 1) return std::move(seq->children[0]);
    return seq;
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParsePrimary() {
    const char c = Peek();
    if (c == '"') return ParseLiteral();
    if (c == '[') {
      FM_ASSIGN_OR_RETURN(CodePointSet set, ParseClass());
      return ClassNode(std::move(set));
    }
    if (c == '.') {
      ++i_;
      return ClassNode(CodePointSet().Complement());
    }
    if (c == '(') {
      ++i_;
      FM_ASSIGN_OR_RETURN(auto inner, ParseAlternatives());
      SkipSpace();
      if (AtEnd() || Peek() != ')') return Error("expected ')'");
      ++i_;
      return inner;
    }
    if (IsNameChar(c)) {
      const size_t at = i_;
      const std::string name = ParseName();
      return RuleNode(Reference(name, at).index);
    }
    return Error(absl::StrCat("unexpected '", std::string(1, c), "'"));
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseQuantifiers(
      std::unique_ptr<PatternNode> item) {
    while (!AtEnd()) {
      int32_t min = 0, max = 0;
      const char c = Peek();
      if (c == '*') {
        min = 0, max = -1, ++i_;
      } else if (c == '+') {
        min = 1, max = -1, ++i_;
      } else if (c == '?') {
        min = 0, max = 1, ++i_;
      } else if (c == '{') {
        FM_RETURN_IF_ERROR(ParseCount(&min, &max));
      } else {
        break;
      }
      auto repeat = std::make_unique<PatternNode>();
      repeat->kind = PatternNode::Kind::kRepeat;
      repeat->min = min;
      repeat->max = max;
      repeat->children.push_back(std::move(item));
      item = std::move(repeat);
    }
    return item;
  }

  absl::Status ParseCount(int32_t* min, int32_t* max) {
    ++i_;  // '{'
    SkipSpace();
    FM_ASSIGN_OR_RETURN(*min, ParseNumber());
    SkipSpace();
    *max = *min;
    if (!AtEnd() && Peek() == ',') {
      ++i_;
      SkipSpace();
      if (!AtEnd() && Peek() == '}') {
        *max = -1;
      } else {
        FM_ASSIGN_OR_RETURN(*max, ParseNumber());
        if (*max < *min) return Error("{m,n} with n < m");
      }
      SkipSpace();
    }
    if (AtEnd() || Peek() != '}') return Error("expected '}'");
    ++i_;
    return absl::OkStatus();
  }

  absl::StatusOr<int32_t> ParseNumber() {
    if (AtEnd() || !absl::ascii_isdigit(Peek()))
      return Error("expected a number");
    int64_t value = 0;
    while (!AtEnd() && absl::ascii_isdigit(Peek())) {
      value = value * 10 + (Peek() - '0');
      if (value > limits_.max_repeat) {
        return absl::ResourceExhaustedError(
            absl::StrCat("grammar: a repetition count over ",
                         limits_.max_repeat, " (the limit)"));
      }
      ++i_;
    }
    return static_cast<int32_t>(value);
  }

  // One character of a literal or class (after any backslash handling).
  absl::StatusOr<uint32_t> ParseChar() {
    if (AtEnd()) return Error("unexpected end of grammar");
    if (Peek() == '\\') {
      ++i_;
      if (AtEnd()) return Error("a trailing backslash");
      const char e = Peek();
      ++i_;
      switch (e) {
        case 'n':
          return uint32_t{'\n'};
        case 'r':
          return uint32_t{'\r'};
        case 't':
          return uint32_t{'\t'};
        case '\\':
        case '"':
        case '[':
        case ']':
        case '-':
        case '^':
          return static_cast<uint32_t>(e);
        case 'x':
          return ParseHex(2);
        case 'u':
          return ParseHex(4);
        case 'U':
          return ParseHex(8);
        default:
          --i_;
          return Error(absl::StrCat("unknown escape \\", std::string(1, e)));
      }
    }
    uint32_t cp = 0;
    const size_t n = DecodeUtf8At(s_, i_, &cp);
    if (n == 0) return Error("invalid UTF-8");
    i_ += n;
    return cp;
  }

  absl::StatusOr<uint32_t> ParseHex(int digits) {
    uint32_t value = 0;
    if (!ParseHexScalar(s_, &i_, digits, &value)) {
      return Error(
          "a malformed hexadecimal escape (or not a Unicode scalar value)");
    }
    return value;
  }

  absl::StatusOr<std::unique_ptr<PatternNode>> ParseLiteral() {
    ++i_;  // '"'
    auto seq = std::make_unique<PatternNode>();
    seq->kind = PatternNode::Kind::kConcat;
    while (true) {
      if (AtEnd() || Peek() == '\n') return Error("an unterminated string");
      if (Peek() == '"') {
        ++i_;
        break;
      }
      FM_ASSIGN_OR_RETURN(uint32_t cp, ParseChar());
      seq->children.push_back(ClassNode(Range(cp, cp)));
    }
    return seq;
  }

  absl::StatusOr<CodePointSet> ParseClass() {
    ++i_;  // '['
    bool negated = false;
    if (!AtEnd() && Peek() == '^') negated = true, ++i_;
    CodePointSet set;
    while (true) {
      if (AtEnd() || Peek() == '\n') return Error("an unterminated class");
      if (Peek() == ']') {
        ++i_;
        break;
      }
      FM_ASSIGN_OR_RETURN(uint32_t lo, ParseChar());
      uint32_t hi = lo;
      if (!AtEnd() && Peek() == '-' && i_ + 1 < s_.size() &&
          s_[i_ + 1] != ']') {
        ++i_;
        FM_ASSIGN_OR_RETURN(hi, ParseChar());
        if (hi < lo) return Error("a class range out of order");
      }
      set.Add(lo, hi);
    }
    return negated ? set.Complement() : set;
  }

  absl::string_view s_;
  const GbnfLimits& limits_;
  ByteGrammar& g_;
  size_t i_ = 0;
  int32_t depth_ = 0;
  std::map<std::string, RuleRef> rules_;
};

}  // namespace

absl::StatusOr<ByteGrammar> CompileGbnf(absl::string_view source,
                                        const GbnfLimits& limits) {
  ByteGrammar grammar(limits.grammar);
  GbnfParser parser(source, limits, &grammar);
  FM_RETURN_IF_ERROR(parser.Parse());
  FM_RETURN_IF_ERROR(grammar.Validate());
  return grammar;
}

}  // namespace fm::constraint
