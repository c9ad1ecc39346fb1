// CompileJsonSchema: the normalizer turns each subschema into flat
// alternatives; each becomes grammar here, one rule per distinct
// conjunction of subschemas (so a recursive schema is a recursive rule),
// and the grammar is trimmed of alternatives that can never complete.
#include "common/constraint/json_schema_compiler.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/constraint/choice_compiler.h"
#include "common/constraint/code_point_set.h"
#include "common/constraint/decimal_range.h"
#include "common/constraint/pattern_tree.h"
#include "common/constraint/regex_compiler.h"
#include "common/constraint/schema_normalizer.h"
#include "common/constraint/string_formats.h"
#include "common/json_nesting.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace fm::constraint {
namespace {

// A format's grammar (its string contents), built once per process.
struct FormatGrammar {
  ByteGrammar grammar;
  int32_t root;
};

absl::StatusOr<const FormatGrammar*> BuiltFormat(const std::string& format) {
  static absl::Mutex* mu = new absl::Mutex();
  static auto* built = new std::map<std::string, FormatGrammar>();
  absl::MutexLock lock(mu);
  auto it = built->find(format);
  if (it != built->end()) return &it->second;
  std::optional<std::string> regex = StringFormatRegex(format);
  if (!regex) {
    return absl::UnimplementedError(
        absl::StrCat("format \"", format, "\" is not supported"));
  }
  FormatGrammar f;
  RegexLimits limits;
  limits.max_pattern_bytes = 1 << 22;
  FM_ASSIGN_OR_RETURN(
      f.root, AddRegexRule(*regex, limits, &f.grammar, RegexMatch::kWhole,
                           TextEncoding::kJsonStringContent));
  return &built->emplace(format, std::move(f)).first->second;
}

absl::Status Unsupported(const std::string& what, const std::string& path) {
  return absl::UnimplementedError(
      absl::StrCat("json_schema: ", what, " at ", path, " is not supported"));
}

absl::Status TooLarge(const std::string& what, const std::string& path,
                      int64_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "json_schema: ", what, " at ", path, " exceeds ", limit, " (the limit)"));
}

int64_t CodePoints(absl::string_view utf8) {
  int64_t n = 0;
  for (char c : utf8) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

class SchemaGrammarBuilder {
 public:
  SchemaGrammarBuilder(const SchemaJson& root, const JsonSchemaOptions& options)
      : root_(root),
        options_(options),
        limits_(options.limits),
        g_(options.limits.grammar),
        normalizer_(root, limits_.max_nesting, limits_.max_branches,
                    absl::Now() + limits_.max_compile_time) {}

  absl::StatusOr<ByteGrammar> Build() {
    FM_ASSIGN_OR_RETURN(int32_t root, RuleFor({SchemaRef{&root_, "#"}}));
    g_.set_root(root);
    if (!g_.Trim()) {
      return absl::InvalidArgumentError(
          "json_schema: no JSON value satisfies the schema at #");
    }
    FM_RETURN_IF_ERROR(g_.CheckSize());
    FM_RETURN_IF_ERROR(g_.Validate());
    return std::move(g_);
  }

 private:
  struct Member {
    Alternative key;        // the quoted name, or a rule matching other names
    Alternative value;      // what follows the ':'
    int32_t slot = -1;      // among the declared members; -1: other names
    bool required = false;  // must appear
  };

  // The rule matching what every subschema of `conjunction` allows.
  absl::StatusOr<int32_t> RuleFor(const Conjunction& conjunction) {
    std::vector<std::string> paths;
    for (const SchemaRef& ref : conjunction) paths.push_back(ref.path);
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    const std::string key = absl::StrJoin(paths, " & ");
    if (auto it = rules_.find(key); it != rules_.end()) return it->second;
    FM_RETURN_IF_ERROR(normalizer_.CheckDeadline());
    if (depth_ >= 2 * limits_.max_nesting) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "json_schema: values nest deeper than ", 2 * limits_.max_nesting,
          " subschemas (the limit) at ", key));
    }
    const int32_t rule = g_.AddRule(key.empty() ? "any value" : key);
    rules_[key] = rule;
    ++depth_;
    absl::StatusOr<Disjunction> alternatives =
        normalizer_.Normalize(conjunction);
    absl::Status status = alternatives.status();
    if (status.ok()) {
      for (const FlatSchema& flat : *alternatives) {
        status = EmitFlat(flat, rule);
        if (!status.ok()) break;
      }
    }
    --depth_;
    FM_RETURN_IF_ERROR(status);
    FM_RETURN_IF_ERROR(g_.CheckSize());
    return rule;
  }

  absl::StatusOr<bool> Unsatisfiable(const Conjunction& conjunction) {
    FM_ASSIGN_OR_RETURN(Disjunction d, normalizer_.Normalize(conjunction));
    return d.empty();
  }

  absl::Status EmitFlat(const FlatSchema& f, int32_t rule) {
    if (f.values) return EmitValues(f, rule);
    if (f.types & kNullType) g_.AddAlternative(rule, Literal("null"));
    if (f.types & kBooleanType) {
      g_.AddAlternative(rule, Literal("true"));
      g_.AddAlternative(rule, Literal("false"));
    }
    if (f.types & (kIntegerType | kFractionType)) {
      const bool integer_only = !(f.types & kFractionType);
      if (std::optional<std::string> regex =
              NumberRangeRegex(f.lower, f.upper, integer_only)) {
        FM_ASSIGN_OR_RETURN(int32_t r, Regex(*regex, "a number range"));
        g_.AddAlternative(rule, {ByteGrammar::Rule(r)});
      }
    }
    if (f.types & kStringType) FM_RETURN_IF_ERROR(EmitString(f, rule));
    if (f.types & kArrayType) FM_RETURN_IF_ERROR(EmitArray(f, rule));
    if (f.types & kObjectType) FM_RETURN_IF_ERROR(EmitObject(f, rule));
    return absl::OkStatus();
  }

  // enum / const: the listed values the other keywords allow. Scalars
  // share a trie of their serialized forms (an enum of thousands stays
  // one parse per continuation).
  absl::Status EmitValues(const FlatSchema& f, int32_t rule) {
    std::vector<std::string> literals;
    for (const SchemaJson& v : *f.values) {
      const uint8_t type = TypeOf(v);
      if (!(type & f.types)) continue;
      if (type & (kIntegerType | kFractionType)) {
        FM_ASSIGN_OR_RETURN(Decimal d, Decimal::Parse(v.dump()));
        if (f.lower) {
          const int c = Compare(d, f.lower->value);
          if (c < 0 || (c == 0 && f.lower->exclusive)) continue;
        }
        if (f.upper) {
          const int c = Compare(d, f.upper->value);
          if (c > 0 || (c == 0 && f.upper->exclusive)) continue;
        }
        FM_ASSIGN_OR_RETURN(int32_t r, Regex(NumberValueRegex(d), "a number"));
        g_.AddAlternative(rule, {ByteGrammar::Rule(r)});
        continue;
      }
      if (type == kStringType) {
        if (!f.pattern_path.empty() || !f.format_path.empty()) {
          return Unsupported(
              "'enum' or 'const' together with a pattern or "
              "format",
              f.values_path);
        }
        const int64_t n = CodePoints(v.get<std::string>());
        if (n < f.min_length || (f.max_length && n > *f.max_length)) continue;
      } else if (type == kArrayType) {
        if (!f.prefix_items.empty() || !f.items.empty()) {
          return Unsupported("'enum' or 'const' together with item schemas",
                             f.values_path);
        }
        const int64_t n = static_cast<int64_t>(v.size());
        if (n < f.min_items || (f.max_items && n > *f.max_items)) continue;
      } else if (type == kObjectType) {
        if (!f.properties.empty() || !f.additional.empty()) {
          return Unsupported("'enum' or 'const' together with property schemas",
                             f.values_path);
        }
        bool complete = true;
        for (const std::string& r : f.required) complete &= v.contains(r);
        if (!complete) continue;
      }
      if (type == kArrayType || type == kObjectType) {
        FM_ASSIGN_OR_RETURN(Alternative alt, ValueGrammar(v));
        g_.AddAlternative(rule, std::move(alt));
      } else {
        literals.push_back(v.dump());
      }
    }
    if (!literals.empty()) {
      g_.AddAlternative(rule,
                        {ByteGrammar::Rule(AddLiteralTrie(literals, &g_))});
    }
    return absl::OkStatus();
  }

  // One constant, members of objects in any order.
  absl::StatusOr<Alternative> ValueGrammar(const SchemaJson& v) {
    if (v.is_array()) {
      Alternative out = Literal("[");
      Append(out, Alternative{Ws()});
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) Append(out, Literal(","), Alternative{Ws()});
        FM_ASSIGN_OR_RETURN(Alternative item, ValueGrammar(v[i]));
        Append(out, item, Alternative{Ws()});
      }
      Append(out, Literal("]"));
      return out;
    }
    if (v.is_object()) {
      std::vector<Member> members;
      for (const auto& [name, value] : v.items()) {
        FM_ASSIGN_OR_RETURN(Alternative key, QuotedString(name));
        FM_ASSIGN_OR_RETURN(Alternative item, ValueGrammar(value));
        members.push_back({std::move(key), std::move(item),
                           static_cast<int32_t>(members.size()), true});
      }
      return ObjectGrammar(members);
    }
    if (v.is_number()) {
      FM_ASSIGN_OR_RETURN(Decimal d, Decimal::Parse(v.dump()));
      FM_ASSIGN_OR_RETURN(int32_t r, Regex(NumberValueRegex(d), "a number"));
      return Alternative{ByteGrammar::Rule(r)};
    }
    return Literal(v.dump());
  }

  absl::Status EmitString(const FlatSchema& f, int32_t rule) {
    const bool lengths = f.min_length > 0 || f.max_length.has_value();
    if (!f.pattern_path.empty()) {
      if (lengths || !f.format_path.empty()) {
        return Unsupported(
            "'pattern' together with 'minLength', 'maxLength' or 'format'",
            f.pattern_path);
      }
      FM_ASSIGN_OR_RETURN(
          int32_t r,
          Regex(f.pattern, absl::StrCat("the pattern at ", f.pattern_path),
                RegexMatch::kSearch, TextEncoding::kJsonStringContent,
                /*user_pattern=*/true));
      g_.AddAlternative(rule, Quoted({ByteGrammar::Rule(r)}));
      return absl::OkStatus();
    }
    if (!f.format_path.empty()) {
      if (lengths) {
        return Unsupported("'format' together with 'minLength' or 'maxLength'",
                           f.format_path);
      }
      FM_ASSIGN_OR_RETURN(int32_t r, FormatRule(f.format, f.format_path));
      g_.AddAlternative(rule, Quoted({ByteGrammar::Rule(r)}));
      return absl::OkStatus();
    }
    if (!lengths) {
      FM_ASSIGN_OR_RETURN(int32_t any, AnyString());
      g_.AddAlternative(rule, {ByteGrammar::Rule(any)});
      return absl::OkStatus();
    }
    if (f.max_length && *f.max_length < f.min_length) return absl::OkStatus();
    const int64_t largest = f.max_length.value_or(f.min_length);
    if (largest > limits_.max_count) {
      return TooLarge("a string length", f.length_path, limits_.max_count);
    }
    FM_ASSIGN_OR_RETURN(int32_t c, StringChar());
    auto body =
        RepeatNode(RuleNode(c), static_cast<int32_t>(f.min_length),
                   f.max_length ? static_cast<int32_t>(*f.max_length) : -1);
    FM_ASSIGN_OR_RETURN(Alternative chars, EmitPattern(*body, &g_));
    g_.AddAlternative(rule, Quoted(std::move(chars)));
    return absl::OkStatus();
  }

  absl::Status EmitArray(const FlatSchema& f, int32_t rule) {
    const int64_t k = static_cast<int64_t>(f.prefix_items.size());
    if (f.min_items > limits_.max_count ||
        (f.max_items && *f.max_items > limits_.max_count)) {
      return TooLarge("an item count", f.items_count_path, limits_.max_count);
    }
    // How many items there can be at most.
    std::optional<int64_t> limit = f.max_items;
    for (int64_t i = 0; i < k; ++i) {
      FM_ASSIGN_OR_RETURN(bool dead, Unsatisfiable(f.prefix_items[i]));
      if (dead) {
        limit = std::min(limit.value_or(i), i);
        break;
      }
    }
    FM_ASSIGN_OR_RETURN(bool tail_dead, Unsatisfiable(f.items));
    if (tail_dead) limit = std::min(limit.value_or(k), k);
    if (limit && f.min_items > *limit) return absl::OkStatus();
    auto element = [&](int64_t i) -> absl::StatusOr<GrammarElement> {
      FM_ASSIGN_OR_RETURN(int32_t r,
                          RuleFor(i < k ? f.prefix_items[i] : f.items));
      return ByteGrammar::Rule(r);
    };
    Alternative open = Literal("[");
    Append(open, Alternative{Ws()});
    if (limit && *limit == 0) {
      Append(open, Literal("]"));
      g_.AddAlternative(rule, std::move(open));
      return absl::OkStatus();
    }
    // after[i]: i items written; the last loops when there is no limit.
    const int64_t steady = std::max<int64_t>({k, f.min_items, 1});
    const int64_t top = limit ? *limit : steady;
    std::vector<int32_t> after(top + 1, -1);
    for (int64_t i = 1; i <= top; ++i) after[i] = g_.AddRule("items");
    for (int64_t i = 1; i <= top; ++i) {
      if (i >= f.min_items) g_.AddAlternative(after[i], Literal("]"));
      if (!limit || i < *limit) {
        FM_ASSIGN_OR_RETURN(GrammarElement item, element(i));
        Alternative more = Literal(",");
        Append(more, Alternative{Ws(), item, Ws(),
                                 ByteGrammar::Rule(
                                     after[limit || i < steady ? i + 1 : i])});
        g_.AddAlternative(after[i], std::move(more));
      }
      FM_RETURN_IF_ERROR(g_.CheckSize());
    }
    const int32_t first = g_.AddRule("array");
    if (f.min_items == 0) g_.AddAlternative(first, Literal("]"));
    FM_ASSIGN_OR_RETURN(GrammarElement item, element(0));
    g_.AddAlternative(first, {item, Ws(), ByteGrammar::Rule(after[1])});
    Append(open, Alternative{ByteGrammar::Rule(first)});
    g_.AddAlternative(rule, std::move(open));
    return absl::OkStatus();
  }

  absl::Status EmitObject(const FlatSchema& f, int32_t rule) {
    std::vector<Member> members;
    std::vector<std::string> names;
    auto required = [&](const std::string& name) {
      return std::find(f.required.begin(), f.required.end(), name) !=
             f.required.end();
    };
    auto declare = [&](const std::string& name,
                       const Conjunction& schema) -> absl::Status {
      names.push_back(name);
      FM_ASSIGN_OR_RETURN(bool dead, Unsatisfiable(schema));
      if (dead && !required(name)) return absl::OkStatus();
      FM_ASSIGN_OR_RETURN(Alternative key, QuotedString(name));
      FM_ASSIGN_OR_RETURN(int32_t value, RuleFor(schema));
      const int32_t slot = static_cast<int32_t>(members.size());
      members.push_back(
          {std::move(key), {ByteGrammar::Rule(value)}, slot, required(name)});
      return absl::OkStatus();
    };
    for (const auto& [name, schema] : f.properties) {
      FM_RETURN_IF_ERROR(declare(name, schema));
    }
    for (const std::string& name : f.required) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        FM_RETURN_IF_ERROR(declare(name, f.additional));
      }
    }
    FM_ASSIGN_OR_RETURN(bool closed, Unsatisfiable(f.additional));
    if (!closed) {
      FM_ASSIGN_OR_RETURN(int32_t key, OtherKey(names));
      FM_ASSIGN_OR_RETURN(int32_t value, RuleFor(f.additional));
      members.push_back(
          {{ByteGrammar::Rule(key)}, {ByteGrammar::Rule(value)}, -1, false});
    }
    FM_ASSIGN_OR_RETURN(Alternative object, ObjectGrammar(members));
    g_.AddAlternative(rule, std::move(object));
    return absl::OkStatus();
  }

  // "{" members "}": each declared member (slot >= 0) at most once, every
  // required one exactly once; in any order for a few (a state per subset
  // seen), else in their declared order (a narrowing: the grammar needs a
  // state per subset, 2^n). Other names (slot -1) may come any number of
  // times anywhere. Repeating a declared name would be valid JSON with the
  // last value winning, but a model repeating it need never end.
  absl::StatusOr<Alternative> ObjectGrammar(
      const std::vector<Member>& members) {
    int32_t declared = 0;
    int64_t required_bits = 0;
    for (const Member& m : members) {
      if (m.slot < 0) continue;
      declared = std::max(declared, m.slot + 1);
      if (m.required && m.slot < 62) required_bits |= int64_t{1} << m.slot;
    }
    const bool any_order = declared <= limits_.max_any_order;
    // In declared order the state is the next slot that may come; it may
    // close, or skip to a later slot, only past no required member.
    std::vector<int64_t> next_required(declared + 1, declared);
    for (const Member& m : members) {
      if (m.slot >= 0 && m.required) next_required[m.slot] = m.slot;
    }
    for (int32_t i = declared - 1; i >= 0; --i) {
      next_required[i] = std::min(next_required[i], next_required[i + 1]);
    }
    auto may_skip = [&](int64_t from, int64_t to) {
      return next_required[from] >= to;
    };
    auto may_close = [&](int64_t s) {
      return any_order ? (s & required_bits) == required_bits
                       : may_skip(s, declared);
    };
    struct StateRules {
      int32_t member, after;
    };
    std::map<int64_t, StateRules> states;
    std::vector<int64_t> work;
    auto state = [&](int64_t s) {
      auto [it, inserted] = states.try_emplace(s, StateRules{-1, -1});
      if (inserted) {
        it->second = {g_.AddRule("member"), g_.AddRule("members")};
        work.push_back(s);
      }
      return it->second;
    };
    const StateRules start = state(0);
    while (!work.empty()) {
      const int64_t s = work.back();
      work.pop_back();
      const StateRules here = states[s];
      if (may_close(s)) g_.AddAlternative(here.after, Literal("}"));
      bool any_member = false;
      for (const Member& m : members) {
        int64_t next = s;
        if (m.slot >= 0 && any_order) {
          const int64_t bit = int64_t{1} << m.slot;
          if (s & bit) continue;
          next = s | bit;
        } else if (m.slot >= 0) {
          if (m.slot < s || !may_skip(s, m.slot)) continue;
          next = m.slot + 1;
        }
        any_member = true;
        const int32_t then = state(next).after;
        Alternative alt = m.key;
        Append(alt, Alternative{Ws()}, Literal(":"), Alternative{Ws()});
        Append(alt, m.value, Alternative{Ws(), ByteGrammar::Rule(then)});
        g_.AddAlternative(here.member, std::move(alt));
      }
      if (any_member) {
        Alternative more = Literal(",");
        Append(more, Alternative{Ws(), ByteGrammar::Rule(here.member)});
        g_.AddAlternative(here.after, std::move(more));
      }
      FM_RETURN_IF_ERROR(g_.CheckSize());
      FM_RETURN_IF_ERROR(normalizer_.CheckDeadline());
    }
    const int32_t body = g_.AddRule("object");
    if (may_close(0)) g_.AddAlternative(body, Literal("}"));
    g_.AddAlternative(body, {ByteGrammar::Rule(start.member)});
    Alternative object = Literal("{");
    Append(object, Alternative{Ws(), ByteGrammar::Rule(body)});
    return object;
  }

  // A quoted property name none of `names` (a trie over their code
  // points, each node refusing to close where a name ends).
  absl::StatusOr<int32_t> OtherKey(const std::vector<std::string>& names) {
    if (names.empty()) return AnyString();
    struct Node {
      std::map<uint32_t, int32_t> children;
      bool end = false;
    };
    std::vector<Node> nodes(1);
    for (const std::string& name : names) {
      int32_t at = 0;
      for (size_t i = 0; i < name.size();) {
        uint32_t cp = 0;
        const size_t n = DecodeUtf8At(name, i, &cp);
        if (n == 0)
          return absl::InvalidArgumentError(
              "json_schema: a property name is not UTF-8");
        i += n;
        auto it = nodes[at].children.find(cp);
        if (it == nodes[at].children.end()) {
          it = nodes[at]
                   .children.emplace(cp, static_cast<int32_t>(nodes.size()))
                   .first;
          nodes.emplace_back();
        }
        at = it->second;
      }
      nodes[at].end = true;
    }
    const int32_t rest = g_.AddRule("other name");
    {
      auto any = RepeatNode(ClassNode(Range(0, kMaxCodePoint)), 0, -1);
      FM_ASSIGN_OR_RETURN(
          Alternative chars,
          EmitPattern(*any, &g_, TextEncoding::kJsonStringContent));
      Append(chars, Literal("\""));
      g_.AddAlternative(rest, std::move(chars));
    }
    std::vector<int32_t> rule_of(nodes.size(), -1);
    for (int32_t i = static_cast<int32_t>(nodes.size()) - 1; i >= 0; --i) {
      const Node& node = nodes[i];
      const int32_t rule = g_.AddRule("other name");
      if (!node.end) g_.AddAlternative(rule, Literal("\""));
      CodePointSet children;
      for (const auto& [cp, child] : node.children) {
        children.Add(cp, cp);
        FM_ASSIGN_OR_RETURN(Alternative alt,
                            EmitPattern(*ClassNode(Range(cp, cp)), &g_,
                                        TextEncoding::kJsonStringContent));
        Append(alt, Alternative{ByteGrammar::Rule(rule_of[child])});
        g_.AddAlternative(rule, std::move(alt));
      }
      const CodePointSet others = children.Complement();
      if (!others.empty()) {
        FM_ASSIGN_OR_RETURN(Alternative alt,
                            EmitPattern(*ClassNode(others), &g_,
                                        TextEncoding::kJsonStringContent));
        Append(alt, Alternative{ByteGrammar::Rule(rest)});
        g_.AddAlternative(rule, std::move(alt));
      }
      rule_of[i] = rule;
      FM_RETURN_IF_ERROR(g_.CheckSize());
    }
    const int32_t key = g_.AddRule("other name");
    Alternative alt = Literal("\"");
    Append(alt, Alternative{ByteGrammar::Rule(rule_of[0])});
    g_.AddAlternative(key, std::move(alt));
    return key;
  }

  // The rule of a regex; errors name `what` (a user's pattern keeps its
  // code: INVALID_ARGUMENT when malformed, UNIMPLEMENTED when it uses a
  // feature that is not regular).
  // The rule matching a format's string contents: its grammar built once
  // per process (the exact time format has 1,440 leap-second
  // alternatives), spliced in once per schema.
  absl::StatusOr<int32_t> FormatRule(const std::string& format,
                                     const std::string& path) {
    if (auto it = format_rules_.find(format); it != format_rules_.end()) {
      return it->second;
    }
    absl::StatusOr<const FormatGrammar*> built = BuiltFormat(format);
    if (!built.ok()) {
      return absl::Status(
          built.status().code(),
          absl::StrCat("json_schema: ", path, ": ", built.status().message()));
    }
    const int32_t rule = g_.Splice((*built)->grammar, (*built)->root);
    FM_RETURN_IF_ERROR(g_.CheckSize());
    format_rules_[format] = rule;
    return rule;
  }

  absl::StatusOr<int32_t> Regex(const std::string& regex,
                                const std::string& what,
                                RegexMatch match = RegexMatch::kWhole,
                                TextEncoding encoding = TextEncoding::kUtf8,
                                bool user_pattern = false) {
    RegexLimits limits;
    limits.max_pattern_bytes =
        user_pattern ? limits.max_pattern_bytes : 1 << 22;
    absl::StatusOr<int32_t> rule =
        AddRegexRule(regex, limits, &g_, match, encoding);
    if (!rule.ok()) {
      return absl::Status(
          rule.status().code(),
          absl::StrCat("json_schema: ", what, ": ", rule.status().message()));
    }
    return rule;
  }

  absl::StatusOr<Alternative> QuotedString(const std::string& utf8) {
    FM_RETURN_IF_ERROR(ValidateUtf8(utf8, "json_schema: a string"));
    FM_ASSIGN_OR_RETURN(
        Alternative chars,
        EmitPattern(*LiteralNode(utf8), &g_, TextEncoding::kJsonStringContent));
    return Quoted(std::move(chars));
  }

  Alternative Quoted(Alternative chars) {
    Alternative out = Literal("\"");
    Append(out, chars, Literal("\""));
    return out;
  }

  Alternative Literal(absl::string_view ascii) {
    Alternative out;
    for (char c : ascii) {
      ByteSet one;
      one.set(static_cast<uint8_t>(c));
      out.push_back(g_.Bytes(one));
    }
    return out;
  }

  template <typename... Parts>
  static void Append(Alternative& out, const Parts&... parts) {
    (out.insert(out.end(), parts.begin(), parts.end()), ...);
  }

  GrammarElement Ws() {
    if (ws_ < 0) {
      ws_ = g_.AddRule("ws");
      ByteSet set;
      for (char c : {' ', '\t', '\n', '\r'}) set.set(static_cast<uint8_t>(c));
      // ws_k := blank ws_{k-1} | ()   (at most max_whitespace blanks)
      int32_t inner = -1;
      for (int32_t k = 0; k < options_.max_whitespace; ++k) {
        const int32_t opt =
            k + 1 == options_.max_whitespace ? ws_ : g_.AddRule("ws");
        Alternative once = {g_.Bytes(set)};
        if (inner >= 0) once.push_back(ByteGrammar::Rule(inner));
        g_.AddAlternative(opt, std::move(once));
        g_.AddAlternative(opt, {});
        inner = opt;
      }
      if (options_.max_whitespace <= 0) g_.AddAlternative(ws_, {});
    }
    return ByteGrammar::Rule(ws_);
  }

  // One character of a JSON string, counted as one code point: itself, a
  // short escape, \uXXXX (not a surrogate) or a surrogate pair.
  absl::StatusOr<int32_t> StringChar() {
    if (char_ < 0) {
      FM_ASSIGN_OR_RETURN(
          char_,
          Regex("(?:[^\"\\\\\\x00-\\x1F]|\\\\[\"\\\\/"
                "bfnrt]|\\\\u(?:[0-9a-cA-CefEF]"
                "[0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}|[dD][89abAB][0-9a-fA-F]"
                "{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}))",
                "a string character"));
    }
    return char_;
  }

  absl::StatusOr<int32_t> AnyString() {
    if (any_string_ < 0) {
      FM_ASSIGN_OR_RETURN(int32_t c, StringChar());
      any_string_ = g_.AddRule("string");
      auto chars = RepeatNode(RuleNode(c), 0, -1);
      FM_ASSIGN_OR_RETURN(Alternative body, EmitPattern(*chars, &g_));
      g_.AddAlternative(any_string_, Quoted(std::move(body)));
    }
    return any_string_;
  }

  const SchemaJson& root_;
  const JsonSchemaOptions& options_;
  const JsonSchemaLimits& limits_;
  ByteGrammar g_;
  SchemaNormalizer normalizer_;
  std::map<std::string, int32_t> rules_;  // by conjunction
  std::map<std::string, int32_t> format_rules_;  // spliced, by format
  int32_t depth_ = 0;
  int32_t ws_ = -1, char_ = -1, any_string_ = -1;
};

}  // namespace

absl::Status PrebuildStringFormats() {
  for (absl::string_view format : kStringFormats) {
    FM_RETURN_IF_ERROR(BuiltFormat(std::string(format)).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<ByteGrammar> CompileJsonSchema(
    absl::string_view schema_json, const JsonSchemaOptions& options) {
  const JsonSchemaLimits& limits = options.limits;
  if (static_cast<int64_t>(schema_json.size()) > limits.max_schema_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("json_schema: the schema has ", schema_json.size(),
                     " bytes; the limit is ", limits.max_schema_bytes));
  }
  if (JsonNestingDepth(schema_json) > limits.max_nesting) {
    return absl::ResourceExhaustedError(
        absl::StrCat("json_schema: the schema nests deeper than ",
                     limits.max_nesting, " (the limit)"));
  }
  if (options.max_whitespace < 0 || options.max_whitespace > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema: max_whitespace ", options.max_whitespace,
                     " is outside [0, 64]"));
  }
  SchemaJson schema;
  // nlohmann reports where a text stops being JSON only by exception.
  try {
    schema = SchemaJson::parse(schema_json.begin(), schema_json.end());
  } catch (const SchemaJson::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema: the schema is not JSON (at byte ", e.byte,
                     "): ", e.what()));
  } catch (const SchemaJson::exception& e) {  // a number out of range
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema: the schema is not usable JSON: ", e.what()));
  }
  SchemaGrammarBuilder builder(schema, options);
  return builder.Build();
}

}  // namespace fm::constraint
