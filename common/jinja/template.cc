// Template::Render: a tree walk over the parsed template with Jinja2's
// scoping (a loop's and a macro's variables stay inside them; namespace()
// objects carry values out).
#include "common/jinja/template.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/jinja/builtins.h"
#include "common/jinja/lexer.h"
#include "common/jinja/parser.h"

namespace fm::jinja {
namespace {

enum class Flow { kNormal, kBreak, kContinue };

absl::Status AtLine(int line, const absl::Status& s) {
  if (s.ok() || absl::StartsWith(s.message(), "template line") ||
      s.code() == absl::StatusCode::kResourceExhausted) {
    return s;
  }
  return absl::Status(s.code(), absl::StrCat("template line ", line, ": ", s.message()));
}

class Renderer {
 public:
  Renderer(const Object& globals, const RenderLimits& limits)
      : limits_(limits) {
    scopes_.emplace_back();
    for (const auto& [key, value] : globals) scopes_.back()[key] = value;
  }

  absl::StatusOr<std::string> Run(const Body& body) {
    std::string out;
    auto flow = Exec(body, &out);
    if (!flow.ok()) return flow.status();
    return out;
  }

 private:
  absl::Status Step() {
    if (++steps_ > limits_.max_steps) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the chat template ran past its budget of ", limits_.max_steps, " steps"));
    }
    return absl::OkStatus();
  }

  absl::Status Emit(absl::string_view s, std::string* out) {
    if (out->size() + s.size() > limits_.max_output_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the chat template's output passed ", limits_.max_output_bytes, " bytes"));
    }
    out->append(s.data(), s.size());
    return absl::OkStatus();
  }

  Value Lookup(const std::string& name) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      auto it = scope->find(name);
      if (it != scope->end()) return it->second;
    }
    return Value();
  }

  absl::StatusOr<Flow> Exec(const Body& body, std::string* out) {
    for (const NodePtr& node : body) {
      auto flow = ExecNode(*node, out);
      if (!flow.ok()) return AtLine(node->line, flow.status());
      if (*flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  absl::StatusOr<Flow> ExecNode(const Node& node, std::string* out) {
    if (absl::Status s = Step(); !s.ok()) return s;
    switch (node.kind) {
      case Node::Kind::kText: {
        if (absl::Status s = Emit(node.text, out); !s.ok()) return s;
        return Flow::kNormal;
      }
      case Node::Kind::kOutput: {
        auto v = Eval(*node.expr);
        if (!v.ok()) return v.status();
        if (absl::Status s = Emit(v->Str(), out); !s.ok()) return s;
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
        for (const auto& [condition, body] : node.branches) {
          if (condition != nullptr) {
            auto c = Eval(*condition);
            if (!c.ok()) return c.status();
            if (!c->Truthy()) continue;
          }
          return Exec(body, out);
        }
        return Flow::kNormal;
      case Node::Kind::kFor:
        return ExecFor(node, out);
      case Node::Kind::kSet: {
        auto v = Eval(*node.expr);
        if (!v.ok()) return v.status();
        if (absl::Status s = Assign(node, *std::move(v)); !s.ok()) return s;
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string captured;
        auto flow = Exec(node.body, &captured);
        if (!flow.ok()) return flow;
        if (absl::Status s = Assign(node, Value::String(std::move(captured))); !s.ok()) return s;
        return Flow::kNormal;
      }
      case Node::Kind::kMacro:
        macros_[node.targets[0]] = &node;
        return Flow::kNormal;
      case Node::Kind::kBreak:
        return Flow::kBreak;
      case Node::Kind::kContinue:
        return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  absl::Status Assign(const Node& node, Value v) {
    if (node.targets.size() == 1) {
      scopes_.back()[node.targets[0]] = std::move(v);
      return absl::OkStatus();
    }
    Value ns = Lookup(node.targets[0]);
    if (!ns.is_namespace()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", node.targets[0], "' is not a namespace(), so '", node.targets[0], ".",
          node.targets[1], "' cannot be set"));
    }
    for (auto& [key, member] : ns.mutable_object()) {
      if (key == node.targets[1]) {
        member = std::move(v);
        return absl::OkStatus();
      }
    }
    ns.mutable_object().emplace_back(node.targets[1], std::move(v));
    return absl::OkStatus();
  }

  absl::StatusOr<Flow> ExecFor(const Node& node, std::string* out) {
    auto iterable = Eval(*node.expr);
    if (!iterable.ok()) return iterable.status();
    Array items;
    if (iterable->is_array()) {
      items = iterable->as_array();
    } else if (iterable->is_object() || iterable->is_string()) {
      auto listed = ApplyFilter("list", *iterable, {});
      if (!listed.ok()) return listed.status();
      items = listed->as_array();
    } else if (!iterable->is_undefined() && !iterable->is_none()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot loop over a ", iterable->TypeName()));
    }
    scopes_.emplace_back();
    auto bind = [&](const Value& item) -> absl::Status {
      if (node.targets.size() == 1) {
        scopes_.back()[node.targets[0]] = item;
        return absl::OkStatus();
      }
      if (!item.is_array() || item.as_array().size() != node.targets.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot unpack a ", item.TypeName(), " into ", node.targets.size(), " names"));
      }
      for (size_t k = 0; k < node.targets.size(); ++k) {
        scopes_.back()[node.targets[k]] = item.as_array()[k];
      }
      return absl::OkStatus();
    };
    if (node.filter != nullptr) {
      Array kept;
      for (const Value& item : items) {
        if (absl::Status s = bind(item); !s.ok()) return Pop(s);
        auto keep = Eval(*node.filter);
        if (!keep.ok()) return Pop(keep.status());
        if (keep->Truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      if (absl::Status s = bind(items[i]); !s.ok()) return Pop(s);
      scopes_.back()["loop"] = Value::MakeObject({
          {"index0", Value::Int(i)},
          {"index", Value::Int(i + 1)},
          {"revindex0", Value::Int(n - 1 - i)},
          {"revindex", Value::Int(n - i)},
          {"first", Value::Bool(i == 0)},
          {"last", Value::Bool(i == n - 1)},
          {"length", Value::Int(n)},
          {"previtem", i > 0 ? items[i - 1] : Value()},
          {"nextitem", i + 1 < n ? items[i + 1] : Value()},
      });
      auto flow = Exec(node.body, out);
      if (!flow.ok()) return Pop(flow.status());
      if (*flow == Flow::kBreak) break;
    }
    if (n == 0 && !node.else_body.empty()) {
      auto flow = Exec(node.else_body, out);
      if (!flow.ok()) return Pop(flow.status());
    }
    scopes_.pop_back();
    return Flow::kNormal;
  }

  absl::Status Pop(absl::Status s) {
    scopes_.pop_back();
    return s;
  }

  absl::StatusOr<Args> EvalArgs(const Expr& e, size_t first) {
    Args args;
    for (size_t i = first; i < e.args.size(); ++i) {
      auto v = Eval(*e.args[i]);
      if (!v.ok()) return v.status();
      args.positional.push_back(*std::move(v));
    }
    for (const auto& [key, expr] : e.kwargs) {
      auto v = Eval(*expr);
      if (!v.ok()) return v.status();
      args.named.emplace_back(key, *std::move(v));
    }
    return args;
  }

  absl::StatusOr<Value> Eval(const Expr& e) {
    auto v = EvalInner(e);
    if (!v.ok()) return AtLine(e.line, v.status());
    return v;
  }

  absl::StatusOr<Value> EvalInner(const Expr& e) {
    if (absl::Status s = Step(); !s.ok()) return s;
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.value;
      case Expr::Kind::kName:
        return Lookup(e.name);
      case Expr::Kind::kList: {
        Array items;
        for (const ExprPtr& item : e.args) {
          auto v = Eval(*item);
          if (!v.ok()) return v;
          items.push_back(*std::move(v));
        }
        return Value::MakeArray(std::move(items));
      }
      case Expr::Kind::kDict: {
        Object members;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          auto key = Eval(*e.args[i]);
          if (!key.ok()) return key;
          auto value = Eval(*e.args[i + 1]);
          if (!value.ok()) return value;
          members.emplace_back(key->Str(), *std::move(value));
        }
        return Value::MakeObject(std::move(members));
      }
      case Expr::Kind::kAttr: {
        auto object = Eval(*e.args[0]);
        if (!object.ok()) return object;
        return object->Get(e.name);
      }
      case Expr::Kind::kIndex: {
        auto object = Eval(*e.args[0]);
        if (!object.ok()) return object;
        auto index = Eval(*e.args[1]);
        if (!index.ok()) return index;
        return Index(*object, *index);
      }
      case Expr::Kind::kSlice: {
        auto object = Eval(*e.args[0]);
        if (!object.ok()) return object;
        Value parts[3];
        for (int k = 0; k < 3; ++k) {
          if (e.args[1 + k] == nullptr) continue;
          auto v = Eval(*e.args[1 + k]);
          if (!v.ok()) return v;
          parts[k] = *std::move(v);
        }
        return Slice(*object, parts[0], parts[1], parts[2]);
      }
      case Expr::Kind::kCall:
        return EvalCall(e);
      case Expr::Kind::kFilter: {
        auto operand = Eval(*e.args[0]);
        if (!operand.ok()) return operand;
        auto args = EvalArgs(e, 1);
        if (!args.ok()) return args.status();
        return ApplyFilter(e.name, *operand, *args);
      }
      case Expr::Kind::kTest: {
        auto operand = Eval(*e.args[0]);
        if (!operand.ok()) return operand;
        auto args = EvalArgs(e, 1);
        if (!args.ok()) return args.status();
        auto passed = ApplyTest(e.name, *operand, *args);
        if (!passed.ok()) return passed.status();
        return Value::Bool(*passed != e.negated);
      }
      case Expr::Kind::kUnary: {
        auto operand = Eval(*e.args[0]);
        if (!operand.ok()) return operand;
        if (e.name == "not") return Value::Bool(!operand->Truthy());
        if (operand->is_int()) return Value::Int(-operand->as_int());
        if (operand->is_number()) return Value::Float(-operand->as_float());
        return absl::InvalidArgumentError(absl::StrCat("cannot negate a ", operand->TypeName()));
      }
      case Expr::Kind::kBinary:
        return EvalBinary(e);
      case Expr::Kind::kCond: {
        auto c = Eval(*e.args[1]);
        if (!c.ok()) return c;
        if (c->Truthy()) return Eval(*e.args[0]);
        if (e.args[2] == nullptr) return Value();
        return Eval(*e.args[2]);
      }
    }
    return Value();
  }

  absl::StatusOr<Value> EvalCall(const Expr& e) {
    const Expr& callee = *e.args[0];
    auto args = EvalArgs(e, 1);
    if (!args.ok()) return args.status();
    if (callee.kind == Expr::Kind::kAttr) {
      auto self = Eval(*callee.args[0]);
      if (!self.ok()) return self;
      return CallMethod(*self, callee.name, *args);
    }
    auto macro = macros_.find(callee.name);
    if (macro != macros_.end()) return CallMacro(*macro->second, *args);
    return CallFunction(callee.name, *args, limits_.max_range);
  }

  absl::StatusOr<Value> CallMacro(const Node& macro, const Args& args) {
    if (++call_depth_ > limits_.max_call_depth) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the chat template nests macro calls deeper than ", limits_.max_call_depth));
    }
    absl::flat_hash_map<std::string, Value> frame;
    for (size_t i = 0; i < macro.params.size(); ++i) {
      const auto& [name, fallback] = macro.params[i];
      Value v = args.Get(i, name);
      if (v.is_undefined() && fallback != nullptr) {
        auto d = Eval(*fallback);
        if (!d.ok()) return d;
        v = *std::move(d);
      }
      frame[name] = std::move(v);
    }
    scopes_.push_back(std::move(frame));
    std::string out;
    auto flow = Exec(macro.body, &out);
    scopes_.pop_back();
    --call_depth_;
    if (!flow.ok()) return flow.status();
    return Value::String(std::move(out));
  }

  absl::StatusOr<Value> EvalBinary(const Expr& e) {
    const std::string& op = e.name;
    auto left = Eval(*e.args[0]);
    if (!left.ok()) return left;
    if (op == "and") return left->Truthy() ? Eval(*e.args[1]) : left;
    if (op == "or") return left->Truthy() ? left : Eval(*e.args[1]);
    auto right = Eval(*e.args[1]);
    if (!right.ok()) return right;
    const Value& a = *left;
    const Value& b = *right;
    if (op == "==") return Value::Bool(a.Equals(b));
    if (op == "!=") return Value::Bool(!a.Equals(b));
    if (op == "in") return Value::Bool(Contains(b, a));
    if (op == "not in") return Value::Bool(!Contains(b, a));
    // Strings and lists built by operators count against the output limit,
    // so that repeated doubling stops long before memory runs out.
    auto too_big = [&](size_t size) -> absl::Status {
      if (size <= limits_.max_output_bytes) return absl::OkStatus();
      return absl::ResourceExhaustedError(absl::StrCat(
          "a value built by '", op, "' passes the output limit of ",
          limits_.max_output_bytes, " bytes"));
    };
    if (op == "~") {
      std::string joined = a.Str() + b.Str();
      if (absl::Status s = too_big(joined.size()); !s.ok()) return s;
      return Value::String(std::move(joined));
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      auto passed = ApplyTest(op, a, Args{{b}, {}});
      if (!passed.ok()) return passed.status();
      return Value::Bool(*passed);
    }
    if (op == "+") {
      if (a.is_string() && b.is_string()) {
        if (absl::Status s = too_big(a.as_string().size() + b.as_string().size()); !s.ok()) {
          return s;
        }
        return Value::String(a.as_string() + b.as_string());
      }
      if (a.is_array() && b.is_array()) {
        if (absl::Status s = too_big(a.as_array().size() + b.as_array().size()); !s.ok()) {
          return s;
        }
        Array joined = a.as_array();
        joined.insert(joined.end(), b.as_array().begin(), b.as_array().end());
        return Value::MakeArray(std::move(joined));
      }
    }
    const bool numbers = (a.is_number() || a.is_bool()) && (b.is_number() || b.is_bool());
    if (op == "*" && ((a.is_string() && b.is_int()) || (a.is_int() && b.is_string()))) {
      const std::string& s = a.is_string() ? a.as_string() : b.as_string();
      const int64_t times = a.is_string() ? b.as_int() : a.as_int();
      if (times > 0 && static_cast<double>(s.size()) * times > limits_.max_output_bytes) {
        return absl::ResourceExhaustedError("a repeated string outgrows the output limit");
      }
      std::string out;
      for (int64_t i = 0; i < times; ++i) out += s;
      return Value::String(std::move(out));
    }
    if (!numbers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unsupported operand types for ", op, ": ", a.TypeName(), " and ", b.TypeName()));
    }
    const bool ints = !a.is_number() || a.is_int() ? (!b.is_number() || b.is_int()) : false;
    if (op == "+") return ints ? Value::Int(a.as_int() + b.as_int()) : Value::Float(a.as_float() + b.as_float());
    if (op == "-") return ints ? Value::Int(a.as_int() - b.as_int()) : Value::Float(a.as_float() - b.as_float());
    if (op == "*") return ints ? Value::Int(a.as_int() * b.as_int()) : Value::Float(a.as_float() * b.as_float());
    if (op == "/") {
      if (b.as_float() == 0) return absl::InvalidArgumentError("division by zero");
      return Value::Float(a.as_float() / b.as_float());
    }
    if (op == "//" || op == "%") {
      if (b.as_float() == 0) return absl::InvalidArgumentError("division by zero");
      if (ints) {
        const int64_t x = a.as_int(), y = b.as_int();
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;  // Python floors
        return op == "//" ? Value::Int(q) : Value::Int(x - q * y);
      }
      const double q = std::floor(a.as_float() / b.as_float());
      return op == "//" ? Value::Float(q) : Value::Float(a.as_float() - q * b.as_float());
    }
    if (op == "**") {
      const double p = std::pow(a.as_float(), b.as_float());
      if (ints && b.as_int() >= 0 && std::abs(p) < 9e18) return Value::Int(static_cast<int64_t>(p));
      return Value::Float(p);
    }
    return absl::InvalidArgumentError(absl::StrCat("operator '", op, "' is not supported"));
  }

  const RenderLimits& limits_;
  std::vector<absl::flat_hash_map<std::string, Value>> scopes_;
  absl::flat_hash_map<std::string, const Node*> macros_;
  int64_t steps_ = 0;
  int call_depth_ = 0;
};

}  // namespace

absl::StatusOr<Template> Template::Parse(absl::string_view source) {
  auto tokens = Lex(source);
  if (!tokens.ok()) return tokens.status();
  auto body = jinja::Parse(*tokens);
  if (!body.ok()) return body.status();
  Template t;
  t.body_ = std::make_shared<const Body>(*std::move(body));
  return t;
}

absl::StatusOr<std::string> Template::Render(const Object& globals,
                                             const RenderLimits& limits) const {
  Renderer renderer(globals, limits);
  return renderer.Run(*body_);
}

}  // namespace fm::jinja
