// Filters, tests, functions and methods.
#include "common/jinja/builtins.h"

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace fm::jinja {
namespace {

constexpr absl::string_view kFilters[] = {
    "abs", "capitalize", "count", "d", "default", "first", "float", "indent",
    "int", "items", "join", "last", "length", "list", "lower", "map",
    "rejectattr", "reject", "replace", "reverse", "safe", "select",
    "selectattr", "string", "title", "tojson", "trim", "unique", "upper"};
constexpr absl::string_view kTests[] = {
    "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "even",
    "false", "float", "ge", "gt", "in", "integer", "iterable", "le", "lower",
    "lt", "mapping", "ne", "none", "number", "odd", "sequence", "string",
    "true", "undefined", "upper", "==", "!=", "<", ">", "<=", ">="};
constexpr absl::string_view kFunctions[] = {"dict", "namespace", "raise_exception",
                                            "range", "strftime_now"};
constexpr absl::string_view kMethods[] = {
    "capitalize", "count", "endswith", "find", "get", "items", "join", "keys",
    "lower", "lstrip", "replace", "rsplit", "rstrip", "split", "startswith",
    "strip", "title", "upper", "values"};

// The largest string a filter or method may build: templates cannot ask
// for unbounded memory through join, replace or indent.
constexpr size_t kMaxBuiltBytes = 64 << 20;

absl::Status CheckBuilt(absl::string_view what, absl::string_view name, double size) {
  if (size <= static_cast<double>(kMaxBuiltBytes)) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " '", name, "' would build more than ", kMaxBuiltBytes, " bytes"));
}

// s with every `from` replaced by `to`, within kMaxBuiltBytes.
absl::StatusOr<std::string> ReplaceAll(absl::string_view what, absl::string_view name,
                                       const std::string& s, const std::string& from,
                                       const std::string& to) {
  if (from.empty()) return s;
  double count = 0;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + from.size())) {
    ++count;
  }
  absl::Status fits = CheckBuilt(what, name, static_cast<double>(s.size()) +
                                                 count * (static_cast<double>(to.size()) -
                                                          static_cast<double>(from.size())));
  if (!fits.ok()) return fits;
  return absl::StrReplaceAll(s, {{from, to}});
}

// The parts joined by `sep`, within kMaxBuiltBytes.
absl::StatusOr<std::string> JoinChecked(absl::string_view what, absl::string_view name,
                                        const std::vector<std::string>& parts,
                                        const std::string& sep) {
  double size = 0;
  for (const std::string& p : parts) size += static_cast<double>(p.size() + sep.size());
  absl::Status fits = CheckBuilt(what, name, size);
  if (!fits.ok()) return fits;
  return absl::StrJoin(parts, sep);
}

template <size_t N>
bool In(const absl::string_view (&names)[N], absl::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

absl::Status Bad(absl::string_view what, absl::string_view name,
                 absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, " '", name, "': ", why));
}

// Byte offsets of each code point of valid UTF-8 `s`, plus s.size().
std::vector<size_t> CodePoints(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}

bool IsPythonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Python's str.strip / lstrip / rstrip: `chars` (undefined or None:
// whitespace).
std::string Strip(const std::string& s, const Value& chars, bool left, bool right) {
  auto strip_it = [&](char c) {
    if (chars.is_string()) return chars.as_string().find(c) != std::string::npos;
    return IsPythonSpace(c);
  };
  // Multi-byte `chars` are compared by code point.
  if (chars.is_string() && std::any_of(chars.as_string().begin(), chars.as_string().end(),
                                       [](char c) { return (c & 0x80) != 0; })) {
    const std::vector<size_t> cps = CodePoints(s);
    const std::string& set = chars.as_string();
    size_t b = 0, e = cps.size() - 1;
    auto in_set = [&](size_t k) {
      return set.find(s.substr(cps[k], cps[k + 1] - cps[k])) != std::string::npos;
    };
    if (left) while (b < e && in_set(b)) ++b;
    if (right) while (e > b && in_set(e - 1)) --e;
    return s.substr(cps[b], cps[e] - cps[b]);
  }
  size_t b = 0, e = s.size();
  if (left) while (b < e && strip_it(s[b])) ++b;
  if (right) while (e > b && strip_it(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string Capitalize(const std::string& s) {
  std::string out = absl::AsciiStrToLower(s);
  if (!out.empty()) out[0] = absl::ascii_toupper(out[0]);
  return out;
}

std::string Title(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    if (absl::ascii_isalpha(c)) {
      c = start ? absl::ascii_toupper(c) : absl::ascii_tolower(c);
      start = false;
    } else {
      start = true;
    }
  }
  return out;
}

int64_t Length(const Value& v) {
  if (v.is_string()) return static_cast<int64_t>(CodePoints(v.as_string()).size() - 1);
  if (v.is_array()) return static_cast<int64_t>(v.as_array().size());
  if (v.is_object()) return static_cast<int64_t>(v.as_object().size());
  return 0;
}

// A value as a list: arrays as they are, strings by code point, dicts by
// key.
Array Items(const Value& v) {
  if (v.is_array()) return v.as_array();
  Array out;
  if (v.is_string()) {
    const std::vector<size_t> cps = CodePoints(v.as_string());
    for (size_t k = 0; k + 1 < cps.size(); ++k) {
      out.push_back(Value::String(v.as_string().substr(cps[k], cps[k + 1] - cps[k])));
    }
  } else if (v.is_object()) {
    for (const auto& [key, member] : v.as_object()) out.push_back(Value::String(key));
  }
  return out;
}

bool Less(const Value& a, const Value& b) {
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  return a.as_float() < b.as_float();
}

// Python's str.split(sep, maxsplit).
Array Split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (!sep.is_string()) {
    // Runs of whitespace, none at the ends.
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && IsPythonSpace(s[i])) ++i;
      if (i >= s.size()) break;
      size_t j = i;
      while (j < s.size() && !IsPythonSpace(s[j])) ++j;
      parts.push_back(s.substr(i, j - i));
      i = j;
    }
  } else if (from_right && maxsplit >= 0) {
    std::string rest = s;
    std::vector<std::string> tail;
    while (static_cast<int64_t>(tail.size()) < maxsplit) {
      const size_t at = rest.rfind(sep.as_string());
      if (at == std::string::npos) break;
      tail.push_back(rest.substr(at + sep.as_string().size()));
      rest.resize(at);
    }
    parts.push_back(rest);
    parts.insert(parts.end(), tail.rbegin(), tail.rend());
  } else {
    size_t start = 0;
    while (true) {
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) break;
      const size_t at = s.find(sep.as_string(), start);
      if (at == std::string::npos) break;
      parts.push_back(s.substr(start, at - start));
      start = at + sep.as_string().size();
    }
    parts.push_back(s.substr(start));
  }
  Array out;
  for (std::string& p : parts) out.push_back(Value::String(std::move(p)));
  return out;
}

}  // namespace

Value Args::Get(size_t i, absl::string_view name) const {
  if (i < positional.size()) return positional[i];
  for (const auto& [key, value] : named) {
    if (key == name) return value;
  }
  return Value();
}

bool IsKnownFilter(absl::string_view name) { return In(kFilters, name); }
bool IsKnownTest(absl::string_view name) { return In(kTests, name); }
bool IsKnownFunction(absl::string_view name) { return In(kFunctions, name); }
bool IsKnownMethod(absl::string_view name) { return In(kMethods, name); }

absl::StatusOr<bool> ApplyTest(absl::string_view name, const Value& v,
                               const Args& args) {
  const Value arg = args.Get(0, "value");
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.kind() == Value::Kind::kFloat;
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "mapping") return v.is_object();
  if (name == "iterable") return v.is_string() || v.is_array() || v.is_object();
  if (name == "sequence") return v.is_string() || v.is_array() || v.is_object();
  if (name == "callable") return false;
  if (name == "lower") return v.is_string() && absl::AsciiStrToLower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && absl::AsciiStrToUpper(v.as_string()) == v.as_string();
  if (name == "eq" || name == "equalto" || name == "==") return v.Equals(arg);
  if (name == "ne" || name == "!=") return !v.Equals(arg);
  if (name == "lt" || name == "<") return Less(v, arg);
  if (name == "gt" || name == ">") return Less(arg, v);
  if (name == "le" || name == "<=") return !Less(arg, v);
  if (name == "ge" || name == ">=") return !Less(v, arg);
  if (name == "in") return Contains(arg, v);
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!v.is_number()) return Bad("test", name, absl::StrCat("needs a number, not ", v.TypeName()));
    const int64_t n = v.as_int();
    if (name == "odd") return n % 2 != 0;
    if (name == "even") return n % 2 == 0;
    const int64_t d = arg.as_int();
    if (d == 0) return Bad("test", name, "division by zero");
    return n % d == 0;
  }
  return Bad("test", name, "is not supported");
}

absl::StatusOr<Value> ApplyFilter(absl::string_view name, const Value& v,
                                  const Args& args) {
  auto needs_string = [&]() -> absl::Status {
    if (v.is_string()) return absl::OkStatus();
    return Bad("filter", name, absl::StrCat("needs a string, not ", v.TypeName()));
  };
  if (name == "safe") return v;
  if (name == "string") return Value::String(v.Str());
  if (name == "tojson") {
    const Value indent = args.Get(0, "indent");
    if (indent.is_number() && (indent.as_int() < 0 || indent.as_int() > 64)) {
      return Bad("filter", name, "indent must be in [0, 64]");
    }
    const std::string json = v.ToJson(indent.is_number() ? static_cast<int>(indent.as_int()) : -1);
    if (absl::Status fits = CheckBuilt("filter", name, static_cast<double>(json.size()));
        !fits.ok()) {
      return fits;
    }
    return Value::String(json);
  }
  if (name == "length" || name == "count") return Value::Int(Length(v));
  if (name == "default" || name == "d") {
    const Value fallback = args.Get(0, "default_value");
    const bool boolean = args.Get(1, "boolean").Truthy();
    if (v.is_undefined() || (boolean && !v.Truthy())) {
      return fallback.is_undefined() ? Value::String("") : fallback;
    }
    return v;
  }
  if (name == "trim") {
    if (absl::Status s = needs_string(); !s.ok()) return s;
    return Value::String(Strip(v.as_string(), args.Get(0, "chars"), true, true));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    const std::string s = v.Str();
    if (name == "upper") return Value::String(absl::AsciiStrToUpper(s));
    if (name == "lower") return Value::String(absl::AsciiStrToLower(s));
    if (name == "title") return Value::String(Title(s));
    return Value::String(Capitalize(s));
  }
  if (name == "replace") {
    if (absl::Status s = needs_string(); !s.ok()) return s;
    const Value from = args.Get(0, "old"), to = args.Get(1, "new");
    if (!from.is_string() || !to.is_string()) return Bad("filter", name, "needs two strings");
    auto replaced = ReplaceAll("filter", name, v.as_string(), from.as_string(), to.as_string());
    if (!replaced.ok()) return replaced.status();
    return Value::String(*std::move(replaced));
  }
  if (name == "int") return Value::Int(v.is_string() ? std::atoll(v.as_string().c_str()) : v.as_int());
  if (name == "float") return Value::Float(v.is_string() ? std::atof(v.as_string().c_str()) : v.as_float());
  if (name == "abs") {
    if (v.is_int()) return Value::Int(v.as_int() < 0 ? -v.as_int() : v.as_int());
    return Value::Float(std::abs(v.as_float()));
  }
  if (name == "list") return Value::MakeArray(Items(v));
  if (name == "first" || name == "last") {
    const Array items = Items(v);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    Array items = Items(v);
    std::reverse(items.begin(), items.end());
    if (v.is_string()) {
      std::string out;
      for (const Value& c : items) out += c.as_string();
      return Value::String(out);
    }
    return Value::MakeArray(std::move(items));
  }
  if (name == "unique") {
    Array out;
    for (const Value& item : Items(v)) {
      if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return o.Equals(item); })) {
        out.push_back(item);
      }
    }
    return Value::MakeArray(std::move(out));
  }
  if (name == "join") {
    const Value sep = args.Get(0, "d");
    const Value attribute = args.Get(1, "attribute");
    std::vector<std::string> parts;
    for (const Value& item : Items(v)) {
      parts.push_back(attribute.is_string() ? item.Get(attribute.as_string()).Str() : item.Str());
    }
    auto joined = JoinChecked("filter", name, parts, sep.is_string() ? sep.as_string() : "");
    if (!joined.ok()) return joined.status();
    return Value::String(*std::move(joined));
  }
  if (name == "items") {
    if (!v.is_object()) return Bad("filter", name, absl::StrCat("needs a dict, not ", v.TypeName()));
    Array out;
    for (const auto& [key, member] : v.as_object()) {
      out.push_back(Value::MakeArray({Value::String(key), member}));
    }
    return Value::MakeArray(std::move(out));
  }
  if (name == "indent") {
    if (absl::Status s = needs_string(); !s.ok()) return s;
    const Value width = args.Get(0, "width");
    const bool first = args.Get(1, "first").Truthy();
    if (width.is_number() && (width.as_int() < 0 || width.as_int() > 256)) {
      return Bad("filter", name, "width must be in [0, 256]");
    }
    const std::string pad = width.is_string() ? width.as_string()
                                              : std::string(width.is_number() ? width.as_int() : 4, ' ');
    if (absl::Status fits = CheckBuilt("filter", name,
                                       static_cast<double>(v.as_string().size()) * (1 + pad.size()));
        !fits.ok()) {
      return fits;
    }
    std::vector<std::string> lines = absl::StrSplit(v.as_string(), '\n');
    for (size_t i = 0; i < lines.size(); ++i) {
      if ((i > 0 || first) && !lines[i].empty()) lines[i] = pad + lines[i];
    }
    return Value::String(absl::StrJoin(lines, "\n"));
  }
  if (name == "map") {
    const Value attribute = args.Get(99, "attribute");
    const Value filter = args.Get(0, "");
    Array out;
    for (const Value& item : Items(v)) {
      if (attribute.is_string()) {
        Value got = item.Get(attribute.as_string());
        if (got.is_undefined()) got = args.Get(99, "default");
        out.push_back(got);
      } else if (filter.is_string() && IsKnownFilter(filter.as_string()) &&
                 filter.as_string() != "map") {
        Args rest;
        rest.positional.assign(args.positional.begin() + 1, args.positional.end());
        auto mapped = ApplyFilter(filter.as_string(), item, rest);
        if (!mapped.ok()) return mapped.status();
        out.push_back(*mapped);
      } else {
        return Bad("filter", name, "needs attribute= or the name of a filter");
      }
    }
    return Value::MakeArray(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    const bool by_attr = absl::EndsWith(name, "attr");
    const bool keep_true = absl::StartsWith(name, "select");
    const Value attribute = by_attr ? args.Get(0, "") : Value();
    const size_t test_at = by_attr ? 1 : 0;
    const Value test = args.Get(test_at, "");
    if (by_attr && !attribute.is_string()) return Bad("filter", name, "needs an attribute name");
    if (!test.is_undefined() && (!test.is_string() || !IsKnownTest(test.as_string()))) {
      return Bad("filter", name, "needs the name of a supported test");
    }
    Args test_args;
    if (args.positional.size() > test_at + 1) {
      test_args.positional.assign(args.positional.begin() + test_at + 1, args.positional.end());
    }
    Array out;
    for (const Value& item : Items(v)) {
      const Value subject = by_attr ? item.Get(attribute.as_string()) : item;
      bool passed = subject.Truthy();
      if (test.is_string()) {
        auto r = ApplyTest(test.as_string(), subject, test_args);
        if (!r.ok()) return r.status();
        passed = *r;
      }
      if (passed == keep_true) out.push_back(item);
    }
    return Value::MakeArray(std::move(out));
  }
  return Bad("filter", name, "is not supported");
}

absl::StatusOr<Value> CallMethod(const Value& self, absl::string_view name,
                                 const Args& args) {
  if (self.is_object()) {
    if (name == "items" || name == "keys" || name == "values") {
      Array out;
      for (const auto& [key, member] : self.as_object()) {
        if (name == "items") {
          out.push_back(Value::MakeArray({Value::String(key), member}));
        } else {
          out.push_back(name == "keys" ? Value::String(key) : member);
        }
      }
      return Value::MakeArray(std::move(out));
    }
    if (name == "get") {
      const Value key = args.Get(0, "key");
      Value got = key.is_string() ? self.Get(key.as_string()) : Value();
      if (got.is_undefined()) {
        got = args.Get(1, "default");
        if (got.is_undefined()) got = Value::None();
      }
      return got;
    }
  }
  if (!self.is_string()) {
    return Bad("method", name, absl::StrCat("is not a method of ", self.TypeName()));
  }
  const std::string& s = self.as_string();
  const Value a0 = args.Get(0, "");
  if (name == "startswith" || name == "endswith") {
    Array prefixes = a0.is_array() ? a0.as_array() : Array{a0};
    for (const Value& p : prefixes) {
      if (!p.is_string()) return Bad("method", name, "needs a string");
      if (name == "startswith" ? absl::StartsWith(s, p.as_string())
                               : absl::EndsWith(s, p.as_string())) {
        return Value::Bool(true);
      }
    }
    return Value::Bool(false);
  }
  if (name == "strip") return Value::String(Strip(s, a0, true, true));
  if (name == "lstrip") return Value::String(Strip(s, a0, true, false));
  if (name == "rstrip") return Value::String(Strip(s, a0, false, true));
  if (name == "upper") return Value::String(absl::AsciiStrToUpper(s));
  if (name == "lower") return Value::String(absl::AsciiStrToLower(s));
  if (name == "title") return Value::String(Title(s));
  if (name == "capitalize") return Value::String(Capitalize(s));
  if (name == "split" || name == "rsplit") {
    const Value sep = args.Get(0, "sep");
    if (sep.is_string() && sep.as_string().empty()) return Bad("method", name, "empty separator");
    const Value max = args.Get(1, "maxsplit");
    return Value::MakeArray(Split(s, sep, max.is_number() ? max.as_int() : -1, name == "rsplit"));
  }
  if (name == "replace") {
    const Value to = args.Get(1, "new");
    if (!a0.is_string() || !to.is_string()) return Bad("method", name, "needs two strings");
    auto replaced = ReplaceAll("method", name, s, a0.as_string(), to.as_string());
    if (!replaced.ok()) return replaced.status();
    return Value::String(*std::move(replaced));
  }
  if (name == "find") {
    if (!a0.is_string()) return Bad("method", name, "needs a string");
    const size_t at = s.find(a0.as_string());
    if (at == std::string::npos) return Value::Int(-1);
    return Value::Int(static_cast<int64_t>(CodePoints(s.substr(0, at)).size() - 1));
  }
  if (name == "count") {
    if (!a0.is_string() || a0.as_string().empty()) return Bad("method", name, "needs a string");
    int64_t n = 0;
    for (size_t at = s.find(a0.as_string()); at != std::string::npos;
         at = s.find(a0.as_string(), at + a0.as_string().size())) {
      ++n;
    }
    return Value::Int(n);
  }
  if (name == "join") {
    std::vector<std::string> parts;
    for (const Value& item : Items(a0)) parts.push_back(item.Str());
    auto joined = JoinChecked("method", name, parts, s);
    if (!joined.ok()) return joined.status();
    return Value::String(*std::move(joined));
  }
  return Bad("method", name, absl::StrCat("is not a method of ", self.TypeName()));
}

absl::StatusOr<Value> CallFunction(absl::string_view name, const Args& args,
                                   int64_t max_range) {
  if (name == "raise_exception") {
    return absl::InvalidArgumentError(
        absl::StrCat("the chat template refused the conversation: ", args.Get(0, "message").Str()));
  }
  if (name == "namespace" || name == "dict") {
    Object members;
    for (const auto& [key, value] : args.named) members.emplace_back(key, value);
    return Value::MakeObject(std::move(members), name == "namespace");
  }
  if (name == "range") {
    int64_t start = 0, stop = 0, step = 1;
    if (args.positional.size() == 1) {
      stop = args.positional[0].as_int();
    } else if (args.positional.size() >= 2) {
      start = args.positional[0].as_int();
      stop = args.positional[1].as_int();
      if (args.positional.size() >= 3) step = args.positional[2].as_int();
    }
    if (step == 0) return Bad("function", name, "step is zero");
    Array out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (static_cast<int64_t>(out.size()) >= max_range) {
        return Bad("function", name, absl::StrCat("more than ", max_range, " items"));
      }
      out.push_back(Value::Int(i));
    }
    return Value::MakeArray(std::move(out));
  }
  if (name == "strftime_now") {
    const Value format = args.Get(0, "format");
    if (!format.is_string()) return Bad("function", name, "needs a format string");
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[256];
    const size_t n = std::strftime(buffer, sizeof(buffer), format.as_string().c_str(), &tm);
    return Value::String(std::string(buffer, n));
  }
  return Bad("function", name, "is not supported");
}

absl::StatusOr<Value> Index(const Value& container, const Value& index) {
  if (container.is_object()) {
    if (!index.is_string()) return Value();
    return container.Get(index.as_string());
  }
  if (!index.is_int() && !index.is_bool()) {
    if (container.is_undefined()) return Value();
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", container.TypeName(), " is indexed by ", index.TypeName()));
  }
  const Array items = container.is_string() || container.is_array() ? Items(container) : Array{};
  int64_t i = index.as_int();
  const int64_t n = static_cast<int64_t>(items.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n) return Value();  // undefined, as Jinja's lookup
  return items[static_cast<size_t>(i)];
}

Value Slice(const Value& container, const Value& start_v, const Value& stop_v,
            const Value& step_v) {
  const Array items = Items(container);
  const int64_t n = static_cast<int64_t>(items.size());
  const int64_t step = step_v.is_number() ? step_v.as_int() : 1;
  Array out;
  if (step == 0) return Value::MakeArray();
  auto clamp = [n, step](const Value& v, int64_t fallback) {
    if (!v.is_number()) return fallback;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t start = clamp(start_v, step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(stop_v, step > 0 ? n : -1);
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(items[static_cast<size_t>(i)]);
  }
  if (container.is_string()) {
    std::string s;
    for (const Value& c : out) s += c.as_string();
    return Value::String(s);
  }
  return Value::MakeArray(std::move(out));
}

bool Contains(const Value& haystack, const Value& needle) {
  if (haystack.is_string()) {
    return needle.is_string() && absl::StrContains(haystack.as_string(), needle.as_string());
  }
  if (haystack.is_array()) {
    for (const Value& item : haystack.as_array()) {
      if (item.Equals(needle)) return true;
    }
    return false;
  }
  if (haystack.is_object()) {
    return needle.is_string() && !haystack.Get(needle.as_string()).is_undefined();
  }
  return false;
}

}  // namespace fm::jinja
