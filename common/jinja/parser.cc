// Parse: recursive descent with Jinja2's operator precedence (lowest
// first): conditional, or, and, not, comparisons and "in", "~", + -,
// * / // %, **, unary minus, then postfix (attribute, index, slice, call,
// filter, test).
#include "common/jinja/parser.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/jinja/builtins.h"

namespace fm::jinja {
namespace {

using K = Token::Kind;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  absl::StatusOr<Body> ParseTemplate() {
    Body body;
    std::string end_tag;
    absl::Status s = ParseBody({}, &body, &end_tag);
    if (!s.ok()) return s;
    return body;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return t_[std::min(pos_ + ahead, t_.size() - 1)];
  }
  const Token& Next() { return t_[std::min(pos_++, t_.size() - 1)]; }
  bool IsOp(absl::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == K::kOperator && Peek(ahead).text == op;
  }
  bool IsName(absl::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == K::kName && Peek(ahead).text == name;
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("template line ", Peek().line, ": ", what));
  }
  absl::Status Expect(absl::string_view op) {
    if (!IsOp(op)) return Error(absl::StrCat("expected '", op, "'", Found()));
    ++pos_;
    return absl::OkStatus();
  }
  std::string Found() const {
    const Token& tok = Peek();
    switch (tok.kind) {
      case K::kEnd: return " before the end of the template";
      case K::kBlockEnd: return ", found '%}'";
      case K::kOutputEnd: return ", found '}}'";
      default: return absl::StrCat(", found '", tok.text, "'");
    }
  }
  absl::StatusOr<std::string> ExpectName() {
    if (Peek().kind != K::kName) return Error(absl::StrCat("expected a name", Found()));
    return Next().text;
  }
  absl::Status ExpectBlockEnd() {
    if (Peek().kind != K::kBlockEnd) return Error(absl::StrCat("expected '%}'", Found()));
    ++pos_;
    return absl::OkStatus();
  }
  absl::Status Deeper() {
    if (++depth_ > kMaxNesting) {
      return Error(absl::StrCat("nests deeper than ", kMaxNesting, " levels"));
    }
    return absl::OkStatus();
  }

  // Parses nodes until a block tag whose name is in `ends` (consumed up to
  // its name, which goes to *end_tag) or the end of the template (only
  // when `ends` is empty).
  absl::Status ParseBody(std::vector<absl::string_view> ends, Body* body,
                         std::string* end_tag) {
    if (absl::Status s = Deeper(); !s.ok()) return s;
    while (true) {
      const Token& tok = Peek();
      if (tok.kind == K::kEnd) {
        if (!ends.empty()) {
          return Error(absl::StrCat("'{% ", ends.front(), " %}' is missing"));
        }
        --depth_;
        return absl::OkStatus();
      }
      if (tok.kind == K::kText) {
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::kText;
        node->line = tok.line;
        node->text = tok.text;
        body->push_back(std::move(node));
        ++pos_;
        continue;
      }
      if (tok.kind == K::kOutputBegin) {
        ++pos_;
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::kOutput;
        node->line = tok.line;
        auto e = ParseExpression();
        if (!e.ok()) return e.status();
        node->expr = *std::move(e);
        if (Peek().kind != K::kOutputEnd) return Error(absl::StrCat("expected '}}'", Found()));
        ++pos_;
        body->push_back(std::move(node));
        continue;
      }
      if (tok.kind != K::kBlockBegin) return Error("unexpected token");
      const Token& name = Peek(1);
      if (name.kind != K::kName) return Error("expected a tag name after '{%'");
      for (absl::string_view end : ends) {
        if (name.text == end) {
          pos_ += 2;
          *end_tag = name.text;
          --depth_;
          return absl::OkStatus();
        }
      }
      pos_ += 2;
      auto node = ParseStatement(name);
      if (!node.ok()) return node.status();
      body->push_back(*std::move(node));
    }
  }

  absl::StatusOr<NodePtr> ParseStatement(const Token& tag) {
    auto node = std::make_unique<Node>();
    node->line = tag.line;
    if (tag.text == "if") return ParseIf(std::move(node));
    if (tag.text == "for") return ParseFor(std::move(node));
    if (tag.text == "set") return ParseSet(std::move(node));
    if (tag.text == "macro") return ParseMacro(std::move(node));
    if (tag.text == "break" || tag.text == "continue") {
      node->kind = tag.text == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
      return node;
    }
    if (tag.text == "generation" || tag.text == "endgeneration") {
      // Hugging Face's marker for assistant masks: no output of its own.
      node->kind = Node::Kind::kText;
      if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
      return node;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "template line ", tag.line, ": tag '", tag.text,
        "' is not supported (supported: if, elif, else, for, set, macro, "
        "break, continue)"));
  }

  absl::StatusOr<NodePtr> ParseIf(NodePtr node) {
    node->kind = Node::Kind::kIf;
    auto cond = ParseExpression();
    if (!cond.ok()) return cond.status();
    if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
    ExprPtr condition = *std::move(cond);
    while (true) {
      Body body;
      std::string end;
      absl::Status s = ParseBody({"elif", "else", "endif"}, &body, &end);
      if (!s.ok()) return s;
      node->branches.emplace_back(std::move(condition), std::move(body));
      if (end == "endif") break;
      if (end == "else") {
        if (s = ExpectBlockEnd(); !s.ok()) return s;
        Body else_body;
        if (s = ParseBody({"endif"}, &else_body, &end); !s.ok()) return s;
        node->branches.emplace_back(nullptr, std::move(else_body));
        break;
      }
      auto next = ParseExpression();  // elif
      if (!next.ok()) return next.status();
      condition = *std::move(next);
      if (s = ExpectBlockEnd(); !s.ok()) return s;
    }
    if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
    return node;
  }

  absl::StatusOr<NodePtr> ParseFor(NodePtr node) {
    node->kind = Node::Kind::kFor;
    do {
      auto target = ExpectName();
      if (!target.ok()) return target.status();
      node->targets.push_back(*target);
    } while (IsOp(",") && (++pos_, true));
    if (!IsName("in")) return Error(absl::StrCat("expected 'in'", Found()));
    ++pos_;
    auto iter = ParseOr();  // not a conditional: "if" filters the loop
    if (!iter.ok()) return iter.status();
    node->expr = *std::move(iter);
    if (IsName("if")) {
      ++pos_;
      auto filter = ParseOr();
      if (!filter.ok()) return filter.status();
      node->filter = *std::move(filter);
    }
    if (IsName("recursive")) return Error("recursive loops are not supported");
    if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
    std::string end;
    absl::Status s = ParseBody({"else", "endfor"}, &node->body, &end);
    if (!s.ok()) return s;
    if (end == "else") {
      if (s = ExpectBlockEnd(); !s.ok()) return s;
      if (s = ParseBody({"endfor"}, &node->else_body, &end); !s.ok()) return s;
    }
    if (s = ExpectBlockEnd(); !s.ok()) return s;
    return node;
  }

  absl::StatusOr<NodePtr> ParseSet(NodePtr node) {
    auto name = ExpectName();
    if (!name.ok()) return name.status();
    node->targets.push_back(*name);
    if (IsOp(".")) {
      ++pos_;
      auto attr = ExpectName();
      if (!attr.ok()) return attr.status();
      node->targets.push_back(*attr);
    }
    if (IsOp(",")) return Error("unpacking in set is not supported");
    if (Peek().kind == K::kBlockEnd && node->targets.size() == 1) {
      ++pos_;
      node->kind = Node::Kind::kSetBlock;
      std::string end;
      absl::Status s = ParseBody({"endset"}, &node->body, &end);
      if (!s.ok()) return s;
      if (s = ExpectBlockEnd(); !s.ok()) return s;
      return node;
    }
    node->kind = Node::Kind::kSet;
    if (absl::Status s = Expect("="); !s.ok()) return s;
    auto value = ParseExpression();
    if (!value.ok()) return value.status();
    node->expr = *std::move(value);
    if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
    return node;
  }

  absl::StatusOr<NodePtr> ParseMacro(NodePtr node) {
    node->kind = Node::Kind::kMacro;
    auto name = ExpectName();
    if (!name.ok()) return name.status();
    macros_.push_back(*name);
    node->targets.push_back(*name);
    if (absl::Status s = Expect("("); !s.ok()) return s;
    while (!IsOp(")")) {
      auto param = ExpectName();
      if (!param.ok()) return param.status();
      ExprPtr fallback;
      if (IsOp("=")) {
        ++pos_;
        auto e = ParseExpression();
        if (!e.ok()) return e.status();
        fallback = *std::move(e);
      }
      node->params.emplace_back(*param, std::move(fallback));
      if (!IsOp(",")) break;
      ++pos_;
    }
    if (absl::Status s = Expect(")"); !s.ok()) return s;
    if (absl::Status s = ExpectBlockEnd(); !s.ok()) return s;
    std::string end;
    absl::Status s = ParseBody({"endmacro"}, &node->body, &end);
    if (!s.ok()) return s;
    if (s = ExpectBlockEnd(); !s.ok()) return s;
    return node;
  }

  // --- expressions ---

  ExprPtr Make(Expr::Kind kind, int line, std::string name = "") {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    e->name = std::move(name);
    return e;
  }

  absl::StatusOr<ExprPtr> ParseExpression() {
    if (absl::Status s = Deeper(); !s.ok()) return s;
    auto value = ParseOr();
    if (!value.ok()) return value;
    if (IsName("if")) {
      const int line = Next().line;
      auto cond = ParseOr();
      if (!cond.ok()) return cond;
      ExprPtr otherwise;
      if (IsName("else")) {
        ++pos_;
        auto e = ParseExpression();
        if (!e.ok()) return e;
        otherwise = *std::move(e);
      }
      ExprPtr c = Make(Expr::Kind::kCond, line);
      c->args.push_back(*std::move(value));
      c->args.push_back(*std::move(cond));
      c->args.push_back(std::move(otherwise));
      --depth_;
      return c;
    }
    --depth_;
    return value;
  }

  using Level = absl::StatusOr<ExprPtr> (Parser::*)();

  absl::StatusOr<ExprPtr> Binary(Level next, std::vector<absl::string_view> ops,
                                 bool names) {
    auto left = (this->*next)();
    if (!left.ok()) return left;
    while (true) {
      const Token& tok = Peek();
      bool matched = false;
      for (absl::string_view op : ops) {
        if ((names ? tok.kind == K::kName : tok.kind == K::kOperator) && tok.text == op) {
          matched = true;
        }
      }
      if (!matched) return left;
      ++pos_;
      auto right = (this->*next)();
      if (!right.ok()) return right;
      ExprPtr e = Make(Expr::Kind::kBinary, tok.line, tok.text);
      e->args.push_back(*std::move(left));
      e->args.push_back(*std::move(right));
      left = std::move(e);
    }
  }

  absl::StatusOr<ExprPtr> ParseOr() { return Binary(&Parser::ParseAnd, {"or"}, true); }
  absl::StatusOr<ExprPtr> ParseAnd() { return Binary(&Parser::ParseNot, {"and"}, true); }
  absl::StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      const int line = Next().line;
      if (absl::Status s = Deeper(); !s.ok()) return s;
      auto operand = ParseNot();
      --depth_;
      if (!operand.ok()) return operand;
      ExprPtr e = Make(Expr::Kind::kUnary, line, "not");
      e->args.push_back(*std::move(operand));
      return e;
    }
    return ParseCompare();
  }
  absl::StatusOr<ExprPtr> ParseCompare() {
    auto left = ParseConcat();
    if (!left.ok()) return left;
    while (true) {
      const Token& tok = Peek();
      std::string op;
      if (tok.kind == K::kOperator &&
          (tok.text == "==" || tok.text == "!=" || tok.text == "<" ||
           tok.text == ">" || tok.text == "<=" || tok.text == ">=")) {
        op = tok.text;
        ++pos_;
      } else if (IsName("in")) {
        op = "in";
        ++pos_;
      } else if (IsName("not") && IsName("in", 1)) {
        op = "not in";
        pos_ += 2;
      } else {
        return left;
      }
      auto right = ParseConcat();
      if (!right.ok()) return right;
      ExprPtr e = Make(Expr::Kind::kBinary, tok.line, op);
      e->args.push_back(*std::move(left));
      e->args.push_back(*std::move(right));
      left = std::move(e);
    }
  }
  absl::StatusOr<ExprPtr> ParseConcat() { return Binary(&Parser::ParseAdd, {"~"}, false); }
  absl::StatusOr<ExprPtr> ParseAdd() { return Binary(&Parser::ParseMul, {"+", "-"}, false); }
  absl::StatusOr<ExprPtr> ParseMul() {
    return Binary(&Parser::ParsePow, {"*", "/", "//", "%"}, false);
  }
  absl::StatusOr<ExprPtr> ParsePow() { return Binary(&Parser::ParseUnary, {"**"}, false); }
  absl::StatusOr<ExprPtr> ParseUnary() {
    if (IsOp("-") || IsOp("+")) {
      const Token& tok = Next();
      if (absl::Status s = Deeper(); !s.ok()) return s;
      auto operand = ParseUnary();
      --depth_;
      if (!operand.ok()) return operand;
      if (tok.text == "+") return operand;
      ExprPtr e = Make(Expr::Kind::kUnary, tok.line, "-");
      e->args.push_back(*std::move(operand));
      return e;
    }
    return ParsePostfix();
  }

  // Arguments up to ")" (already past "("): positional, then name=value.
  absl::Status ParseArgs(Expr* call) {
    while (!IsOp(")")) {
      if (Peek().kind == K::kName && IsOp("=", 1)) {
        std::string key = Next().text;
        ++pos_;
        auto value = ParseExpression();
        if (!value.ok()) return value.status();
        call->kwargs.emplace_back(std::move(key), *std::move(value));
      } else {
        if (!call->kwargs.empty()) return Error("a positional argument follows a keyword argument");
        auto value = ParseExpression();
        if (!value.ok()) return value.status();
        call->args.push_back(*std::move(value));
      }
      if (!IsOp(",")) break;
      ++pos_;
    }
    return Expect(")");
  }

  absl::StatusOr<ExprPtr> ParsePostfix() {
    auto primary = ParsePrimary();
    if (!primary.ok()) return primary;
    ExprPtr e = *std::move(primary);
    while (true) {
      const Token& tok = Peek();
      if (IsOp(".")) {
        ++pos_;
        auto name = ExpectName();
        if (!name.ok()) return name.status();
        if (IsOp("(")) {  // a method call
          if (!IsKnownMethod(*name)) {
            return Error(absl::StrCat("method '", *name, "' is not supported"));
          }
          ++pos_;
          ExprPtr attr = Make(Expr::Kind::kAttr, tok.line, *name);
          attr->args.push_back(std::move(e));
          ExprPtr call = Make(Expr::Kind::kCall, tok.line);
          call->args.push_back(std::move(attr));
          if (absl::Status s = ParseArgs(call.get()); !s.ok()) return s;
          e = std::move(call);
          continue;
        }
        ExprPtr attr = Make(Expr::Kind::kAttr, tok.line, *name);
        attr->args.push_back(std::move(e));
        e = std::move(attr);
        continue;
      }
      if (IsOp("[")) {
        ++pos_;
        ExprPtr parts[3];
        bool slice = false;
        for (int part = 0; part < 3; ++part) {
          if (!IsOp(":") && !IsOp("]")) {
            auto value = ParseExpression();
            if (!value.ok()) return value;
            parts[part] = *std::move(value);
          }
          if (!IsOp(":")) break;
          slice = true;
          ++pos_;
        }
        if (absl::Status s = Expect("]"); !s.ok()) return s;
        if (!slice && parts[0] == nullptr) return Error("empty subscript");
        ExprPtr index = Make(slice ? Expr::Kind::kSlice : Expr::Kind::kIndex, tok.line);
        index->args.push_back(std::move(e));
        index->args.push_back(std::move(parts[0]));
        if (slice) {
          index->args.push_back(std::move(parts[1]));
          index->args.push_back(std::move(parts[2]));
        }
        e = std::move(index);
        continue;
      }
      if (IsOp("(")) {
        if (e->kind != Expr::Kind::kName) return Error("only named functions can be called");
        calls_.emplace_back(e->name, tok.line);
        ++pos_;
        ExprPtr call = Make(Expr::Kind::kCall, tok.line);
        call->args.push_back(std::move(e));
        if (absl::Status s = ParseArgs(call.get()); !s.ok()) return s;
        e = std::move(call);
        continue;
      }
      if (IsOp("|")) {
        ++pos_;
        auto name = ExpectName();
        if (!name.ok()) return name.status();
        if (!IsKnownFilter(*name)) {
          return Error(absl::StrCat("filter '", *name, "' is not supported"));
        }
        ExprPtr filter = Make(Expr::Kind::kFilter, tok.line, *name);
        filter->args.push_back(std::move(e));
        if (IsOp("(")) {
          ++pos_;
          if (absl::Status s = ParseArgs(filter.get()); !s.ok()) return s;
        }
        e = std::move(filter);
        continue;
      }
      if (IsName("is")) {
        ++pos_;
        bool negated = false;
        if (IsName("not")) {
          negated = true;
          ++pos_;
        }
        std::string name;
        if (Peek().kind == K::kName) {
          name = Next().text;
        } else if (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") ||
                   IsOp("<=") || IsOp(">=")) {
          name = Next().text;
        } else {
          return Error(absl::StrCat("expected a test name after 'is'", Found()));
        }
        if (!IsKnownTest(name)) {
          return Error(absl::StrCat("test '", name, "' is not supported"));
        }
        ExprPtr test = Make(Expr::Kind::kTest, tok.line, name);
        test->negated = negated;
        test->args.push_back(std::move(e));
        if (IsOp("(")) {
          ++pos_;
          if (absl::Status s = ParseArgs(test.get()); !s.ok()) return s;
        } else if (Peek().kind == K::kString || Peek().kind == K::kInteger ||
                   Peek().kind == K::kName) {
          // "is equalto 'x'", "is divisibleby 3": one bare argument.
          if (!IsName("and") && !IsName("or") && !IsName("else") && !IsName("if")) {
            auto arg = ParsePrimary();
            if (!arg.ok()) return arg;
            test->args.push_back(*std::move(arg));
          }
        }
        e = std::move(test);
        continue;
      }
      return e;
    }
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
    const Token& tok = Peek();
    switch (tok.kind) {
      case K::kString: {
        ++pos_;
        std::string s = tok.text;
        while (Peek().kind == K::kString) s += Next().text;  // 'a' 'b'
        ExprPtr e = Make(Expr::Kind::kLiteral, tok.line);
        e->value = Value::String(std::move(s));
        return e;
      }
      case K::kInteger: {
        ++pos_;
        int64_t v = 0;
        if (!absl::SimpleAtoi(tok.text, &v)) return Error("integer out of range");
        ExprPtr e = Make(Expr::Kind::kLiteral, tok.line);
        e->value = Value::Int(v);
        return e;
      }
      case K::kFloat: {
        ++pos_;
        double v = 0;
        if (!absl::SimpleAtod(tok.text, &v)) return Error("bad number");
        ExprPtr e = Make(Expr::Kind::kLiteral, tok.line);
        e->value = Value::Float(v);
        return e;
      }
      case K::kName: {
        ++pos_;
        ExprPtr e = Make(Expr::Kind::kLiteral, tok.line);
        if (tok.text == "true" || tok.text == "True") {
          e->value = Value::Bool(true);
        } else if (tok.text == "false" || tok.text == "False") {
          e->value = Value::Bool(false);
        } else if (tok.text == "none" || tok.text == "None") {
          e->value = Value::None();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = tok.text;
        }
        return e;
      }
      case K::kOperator:
        if (tok.text == "(") {
          ++pos_;
          auto inner = ParseExpression();
          if (!inner.ok()) return inner;
          if (IsOp(",")) {  // a tuple: a list here
            ExprPtr list = Make(Expr::Kind::kList, tok.line);
            list->args.push_back(*std::move(inner));
            while (IsOp(",")) {
              ++pos_;
              if (IsOp(")")) break;
              auto item = ParseExpression();
              if (!item.ok()) return item;
              list->args.push_back(*std::move(item));
            }
            if (absl::Status s = Expect(")"); !s.ok()) return s;
            return list;
          }
          if (absl::Status s = Expect(")"); !s.ok()) return s;
          return inner;
        }
        if (tok.text == "[") {
          ++pos_;
          ExprPtr list = Make(Expr::Kind::kList, tok.line);
          while (!IsOp("]")) {
            auto item = ParseExpression();
            if (!item.ok()) return item;
            list->args.push_back(*std::move(item));
            if (!IsOp(",")) break;
            ++pos_;
          }
          if (absl::Status s = Expect("]"); !s.ok()) return s;
          return list;
        }
        if (tok.text == "{") {
          ++pos_;
          ExprPtr dict = Make(Expr::Kind::kDict, tok.line);
          while (!IsOp("}")) {
            auto key = ParseExpression();
            if (!key.ok()) return key;
            if (absl::Status s = Expect(":"); !s.ok()) return s;
            auto value = ParseExpression();
            if (!value.ok()) return value;
            dict->args.push_back(*std::move(key));
            dict->args.push_back(*std::move(value));
            if (!IsOp(",")) break;
            ++pos_;
          }
          if (absl::Status s = Expect("}"); !s.ok()) return s;
          return dict;
        }
        break;
      default:
        break;
    }
    return Error(absl::StrCat("expected a value", Found()));
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;

 public:
  // Functions called by name, and the macros defined: a call of neither
  // is an error.
  std::vector<std::pair<std::string, int>> calls_;
  std::vector<std::string> macros_;
};

}  // namespace

absl::StatusOr<Body> Parse(const std::vector<Token>& tokens) {
  Parser parser(tokens);
  auto body = parser.ParseTemplate();
  if (!body.ok()) return body;
  for (const auto& [name, line] : parser.calls_) {
    if (IsKnownFunction(name)) continue;
    if (std::find(parser.macros_.begin(), parser.macros_.end(), name) !=
        parser.macros_.end()) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "template line ", line, ": function '", name, "' is not supported"));
  }
  return body;
}

}  // namespace fm::jinja
