// SchemaNormalizer: keyword by keyword into a FlatSchema; $ref, allOf,
// anyOf and oneOf as disjunctions multiplied in.
#include "common/constraint/schema_normalizer.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/constraint/string_formats.h"
#include "common/status_macros.h"

namespace fm::constraint {
namespace {

absl::Status Unsupported(const std::string& what, const std::string& path) {
  return absl::UnimplementedError(
      absl::StrCat("json_schema: ", what, " at ", path, " is not supported"));
}
absl::Status Malformed(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("json_schema: ", path, " ", what));
}

bool IsAnnotation(const std::string& key) {
  static const std::set<std::string>* kAnnotations = new std::set<std::string>{
      "$comment",         "$defs",           "definitions",  "$anchor",
      "$dynamicAnchor",   "title",           "description",  "default",
      "examples",         "deprecated",      "readOnly",     "writeOnly",
      "contentMediaType", "contentEncoding", "contentSchema"};
  return kAnnotations->count(key) > 0;
}

absl::StatusOr<Decimal> NumberOf(const SchemaJson& value,
                                 const std::string& path) {
  if (!value.is_number()) return Malformed(path, "must be a number");
  return Decimal::Parse(value.dump());
}

// A count keyword (minLength, maxItems, ...): a non-negative integer
// (2.0 counts as 2); a huge one is clamped (the compiler's limit names it).
absl::StatusOr<int64_t> CountOf(const SchemaJson& value,
                                const std::string& path) {
  if (value.is_number_unsigned()) {
    return static_cast<int64_t>(
        std::min<uint64_t>(value.get<uint64_t>(), uint64_t{1} << 62));
  }
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d >= 0 &&
        d == static_cast<double>(static_cast<int64_t>(std::min(d, 4e18)))) {
      return static_cast<int64_t>(std::min(d, 4e18));
    }
  }
  return Malformed(path, "must be a non-negative integer");
}

void TightenLower(std::optional<DecimalBound>& bound, DecimalBound b) {
  const int c = bound ? Compare(b.value, bound->value) : 1;
  if (c > 0 || (c == 0 && b.exclusive)) bound = std::move(b);
}
void TightenUpper(std::optional<DecimalBound>& bound, DecimalBound b) {
  const int c = bound ? Compare(b.value, bound->value) : -1;
  if (c < 0 || (c == 0 && b.exclusive)) bound = std::move(b);
}

Conjunction Join(const Conjunction& a, const Conjunction& b) {
  Conjunction out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

const Conjunction* PropertyOf(const FlatSchema& f, const std::string& name) {
  for (const auto& [key, conj] : f.properties) {
    if (key == name) return &conj;
  }
  return nullptr;
}

uint8_t EffectiveTypes(const FlatSchema& f) {
  if (!f.values) return f.types;
  uint8_t t = 0;
  for (const SchemaJson& v : *f.values) t |= TypeOf(v);
  return t & f.types;
}

// Percent-decoding of a URI fragment.
std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && absl::ascii_isxdigit(s[i + 1]) &&
        absl::ascii_isxdigit(s[i + 2])) {
      out += static_cast<char>(
          std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

uint8_t TypeOf(const SchemaJson& value) {
  switch (value.type()) {
    case SchemaJson::value_t::null:
      return kNullType;
    case SchemaJson::value_t::boolean:
      return kBooleanType;
    case SchemaJson::value_t::number_integer:
    case SchemaJson::value_t::number_unsigned:
      return kIntegerType;
    case SchemaJson::value_t::number_float: {
      absl::StatusOr<Decimal> d = Decimal::Parse(value.dump());
      return d.ok() && d->IsInteger() ? kIntegerType : kFractionType;
    }
    case SchemaJson::value_t::string:
      return kStringType;
    case SchemaJson::value_t::array:
      return kArrayType;
    case SchemaJson::value_t::object:
      return kObjectType;
    default:
      return 0;
  }
}

bool JsonEqual(const SchemaJson& a, const SchemaJson& b) {
  if (a.is_number() && b.is_number()) {
    absl::StatusOr<Decimal> x = Decimal::Parse(a.dump());
    absl::StatusOr<Decimal> y = Decimal::Parse(b.dump());
    return x.ok() && y.ok() && Compare(*x, *y) == 0;
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!JsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a.items()) {
      auto it = b.find(key);
      if (it == b.end() || !JsonEqual(value, *it)) return false;
    }
    return true;
  }
  return a == b;
}

std::string ChildPath(const std::string& path, const std::string& key) {
  return absl::StrCat(path, "/",
                      absl::StrReplaceAll(key, {{"~", "~0"}, {"/", "~1"}}));
}

absl::StatusOr<FlatSchema> Merge(const FlatSchema& a, const FlatSchema& b) {
  FlatSchema m = a;
  m.types = a.types & b.types;
  if (b.values) {
    if (!a.values) {
      m.values = b.values;
      m.values_path = b.values_path;
    } else {
      std::vector<SchemaJson> both;
      for (const SchemaJson& v : *a.values) {
        for (const SchemaJson& w : *b.values) {
          if (JsonEqual(v, w)) {
            both.push_back(v);
            break;
          }
        }
      }
      m.values = std::move(both);
    }
  }
  if (b.lower) TightenLower(m.lower, *b.lower);
  if (b.upper) TightenUpper(m.upper, *b.upper);

  if (b.min_length > m.min_length ||
      (b.max_length && (!m.max_length || *b.max_length < *m.max_length))) {
    m.length_path = b.length_path;
  }
  m.min_length = std::max(a.min_length, b.min_length);
  if (b.max_length && (!m.max_length || *b.max_length < *m.max_length)) {
    m.max_length = b.max_length;
  }
  if (!b.pattern_path.empty()) {
    if (!a.pattern_path.empty() && a.pattern != b.pattern) {
      return Unsupported(
          absl::StrCat("'pattern' together with the pattern at ",
                       a.pattern_path, " (two patterns' intersection)"),
          b.pattern_path);
    }
    m.pattern = b.pattern;
    m.pattern_path = b.pattern_path;
  }
  if (!b.format_path.empty()) {
    if (!a.format_path.empty() && a.format != b.format) {
      return Unsupported(
          absl::StrCat("'format' together with the format at ", a.format_path),
          b.format_path);
    }
    m.format = b.format;
    m.format_path = b.format_path;
  }

  // Position i of an array: each side's prefix schema there, or its items.
  const size_t n = std::max(a.prefix_items.size(), b.prefix_items.size());
  m.prefix_items.clear();
  for (size_t i = 0; i < n; ++i) {
    m.prefix_items.push_back(
        Join(i < a.prefix_items.size() ? a.prefix_items[i] : a.items,
             i < b.prefix_items.size() ? b.prefix_items[i] : b.items));
  }
  m.items = Join(a.items, b.items);
  if (b.min_items > a.min_items || b.max_items) {
    m.items_count_path = b.items_count_path;
  }
  m.min_items = std::max(a.min_items, b.min_items);
  if (b.max_items && (!m.max_items || *b.max_items < *m.max_items)) {
    m.max_items = b.max_items;
  }

  // Property k: each side's schema for k, or its additionalProperties.
  m.properties.clear();
  std::vector<std::string> names;
  for (const auto& [k, c] : a.properties) names.push_back(k);
  for (const auto& [k, c] : b.properties) {
    if (!PropertyOf(a, k)) names.push_back(k);
  }
  for (const std::string& k : names) {
    const Conjunction* pa = PropertyOf(a, k);
    const Conjunction* pb = PropertyOf(b, k);
    m.properties.push_back(
        {k, Join(pa ? *pa : a.additional, pb ? *pb : b.additional)});
  }
  m.additional = Join(a.additional, b.additional);
  for (const std::string& r : b.required) {
    if (std::find(m.required.begin(), m.required.end(), r) ==
        m.required.end()) {
      m.required.push_back(r);
    }
  }
  return m;
}

SchemaNormalizer::SchemaNormalizer(const SchemaJson& root, int32_t max_nesting,
                                   int32_t max_branches, absl::Time deadline)
    : root_(root),
      max_nesting_(max_nesting),
      max_branches_(max_branches),
      deadline_(deadline) {
  if (auto it = root.find("$schema"); it != root.end() && it->is_string()) {
    const std::string uri = it->get<std::string>();
    if (absl::StrContains(uri, "draft/2019-09/")) dialect_ = Dialect::k2019;
    if (absl::StrContains(uri, "draft-07/") ||
        absl::StrContains(uri, "draft-06/")) {
      dialect_ = Dialect::kDraft7;
    }
  }
  CollectAnchors(root, "#");
}

void SchemaNormalizer::CollectAnchors(const SchemaJson& node,
                                      const std::string& path) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      CollectAnchors(node[i], ChildPath(path, std::to_string(i)));
    }
    return;
  }
  if (!node.is_object()) return;
  if (path != "#" && node.contains("$id")) return;  // another resource's
  for (const auto& [key, value] : node.items()) {
    if ((key == "$anchor" || key == "$dynamicAnchor") && value.is_string()) {
      anchors_.emplace(value.get<std::string>(), SchemaRef{&node, path});
    } else if (key != "const" && key != "enum" && key != "default" &&
               key != "examples") {
      CollectAnchors(value, ChildPath(path, key));
    }
  }
}

absl::Status SchemaNormalizer::CheckDeadline() const {
  if (absl::Now() > deadline_) {
    return absl::ResourceExhaustedError(
        "json_schema: compiling took longer than the compile deadline (the "
        "limit)");
  }
  return absl::OkStatus();
}

absl::StatusOr<Disjunction> SchemaNormalizer::Normalize(
    const Conjunction& conjunction) {
  Disjunction result = {FlatSchema{}};
  for (const SchemaRef& ref : conjunction) {
    FM_ASSIGN_OR_RETURN(Disjunction one, NormalizeOne(ref));
    FM_ASSIGN_OR_RETURN(result, Product(result, one, ref.path));
  }
  return result;
}

absl::StatusOr<Disjunction> SchemaNormalizer::NormalizeOne(
    const SchemaRef& ref) {
  const SchemaJson& node = *ref.node;
  if (node.is_boolean()) {
    if (node.get<bool>()) return Disjunction{FlatSchema{}};
    return Disjunction{};
  }
  if (!node.is_object()) {
    return Malformed(ref.path, "is not a schema (an object or a boolean)");
  }
  if (auto it = memo_.find(ref.path); it != memo_.end()) return it->second;
  FM_RETURN_IF_ERROR(CheckDeadline());
  if (in_progress_.count(ref.path) > 0) {
    return Malformed(ref.path,
                     "includes itself through $ref, allOf, anyOf or oneOf "
                     "before any value is read (a cycle)");
  }
  if (depth_ >= max_nesting_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("json_schema: subschemas nest deeper than ", max_nesting_,
                     " (the limit) at ", ref.path));
  }
  ++depth_;
  in_progress_.insert(ref.path);
  absl::StatusOr<Disjunction> result = NormalizeKeywords(ref);
  in_progress_.erase(ref.path);
  --depth_;
  if (result.ok()) memo_[ref.path] = *result;
  return result;
}

absl::StatusOr<Disjunction> SchemaNormalizer::NormalizeKeywords(
    const SchemaRef& ref) {
  FlatSchema base;
  std::vector<Disjunction> parts;
  bool nullable = false;
  auto sub = [&](const SchemaJson& value, const std::string& path) {
    return SchemaRef{&value, path};
  };
  for (const auto& [key, value] : ref.node->items()) {
    const std::string path = ChildPath(ref.path, key);
    if (IsAnnotation(key)) continue;
    if (dialect_ == Dialect::kDraft7 && key != "$ref" &&
        ref.node->contains("$ref")) {
      continue;  // before 2019-09, `$ref` is the whole schema
    }
    if (key == "$schema") {
      static const std::set<std::string>* kKnown = new std::set<std::string>{
          "https://json-schema.org/draft/2020-12/schema",
          "https://json-schema.org/draft/2019-09/schema",
          "http://json-schema.org/draft-07/schema",
          "http://json-schema.org/draft-06/schema"};
      std::string uri = value.is_string() ? value.get<std::string>() : "";
      if (absl::EndsWith(uri, "#")) uri.pop_back();
      if (ref.path != "#" || !kKnown->count(uri)) {
        return Unsupported(
            absl::StrCat("'$schema' ", value.dump(),
                         " (a meta-schema other than draft 2020-12, 2019-09, "
                         "07 or 06)"),
            path);
      }
    } else if (key == "$id") {
      if (ref.path != "#") {
        return Unsupported("'$id' in a subschema (a new base URI)", path);
      }
    } else if (key == "type") {
      static const std::map<std::string, uint8_t>* kTypes =
          new std::map<std::string, uint8_t>{
              {"null", kNullType},
              {"boolean", kBooleanType},
              {"integer", kIntegerType},
              {"number", kIntegerType | kFractionType},
              {"string", kStringType},
              {"array", kArrayType},
              {"object", kObjectType}};
      std::vector<SchemaJson> names;
      if (value.is_array()) {
        names.assign(value.begin(), value.end());
      } else {
        names.push_back(value);
      }
      uint8_t types = 0;
      for (const SchemaJson& name : names) {
        auto it = name.is_string() ? kTypes->find(name.get<std::string>())
                                   : kTypes->end();
        if (it == kTypes->end()) {
          return Malformed(path,
                           absl::StrCat("names an unknown type ", name.dump()));
        }
        types |= it->second;
      }
      base.types &= types;
    } else if (key == "enum" || key == "const") {
      std::vector<SchemaJson> values;
      if (key == "const") {
        values.push_back(value);
      } else if (!value.is_array()) {
        return Malformed(path, "must be an array");
      } else {
        values.assign(value.begin(), value.end());
      }
      FlatSchema part;
      part.values = std::move(values);
      part.values_path = path;
      FM_ASSIGN_OR_RETURN(base, Merge(base, part));
    } else if (key == "minimum" || key == "exclusiveMinimum") {
      FM_ASSIGN_OR_RETURN(Decimal d, NumberOf(value, path));
      TightenLower(base.lower, {d, key == "exclusiveMinimum"});
    } else if (key == "maximum" || key == "exclusiveMaximum") {
      FM_ASSIGN_OR_RETURN(Decimal d, NumberOf(value, path));
      TightenUpper(base.upper, {d, key == "exclusiveMaximum"});
    } else if (key == "minLength") {
      FM_ASSIGN_OR_RETURN(base.min_length, CountOf(value, path));
      base.length_path = path;
    } else if (key == "maxLength") {
      FM_ASSIGN_OR_RETURN(base.max_length, CountOf(value, path));
      base.length_path = path;
    } else if (key == "pattern") {
      if (!value.is_string()) return Malformed(path, "must be a string");
      base.pattern = value.get<std::string>();
      base.pattern_path = path;
    } else if (key == "format") {
      if (!value.is_string()) return Malformed(path, "must be a string");
      if (!StringFormatRegex(value.get<std::string>())) {
        return Unsupported(absl::StrCat("format ", value.dump()), path);
      }
      base.format = value.get<std::string>();
      base.format_path = path;
    } else if (key == "items" && value.is_array() &&
               dialect_ != Dialect::k2020) {
      for (size_t i = 0; i < value.size(); ++i) {  // a tuple before 2020-12
        base.prefix_items.push_back(
            {sub(value[i], ChildPath(path, std::to_string(i)))});
      }
      if (auto it = ref.node->find("additionalItems"); it != ref.node->end()) {
        base.items = {sub(*it, ChildPath(ref.path, "additionalItems"))};
      }
    } else if (key == "additionalItems" && dialect_ != Dialect::k2020) {
      // With a tuple `items`, read there; otherwise it has no effect.
    } else if (key == "items") {
      if (value.is_array()) {
        return Malformed(path,
                         "is an array: in draft 2020-12 `items` is one "
                         "schema (a tuple is `prefixItems`)");
      }
      base.items = {sub(value, path)};
    } else if (key == "prefixItems") {
      if (!value.is_array()) return Malformed(path, "must be an array");
      for (size_t i = 0; i < value.size(); ++i) {
        base.prefix_items.push_back(
            {sub(value[i], ChildPath(path, std::to_string(i)))});
      }
    } else if (key == "minItems") {
      FM_ASSIGN_OR_RETURN(base.min_items, CountOf(value, path));
      base.items_count_path = path;
    } else if (key == "maxItems") {
      FM_ASSIGN_OR_RETURN(base.max_items, CountOf(value, path));
      base.items_count_path = path;
    } else if (key == "uniqueItems") {
      if (!value.is_boolean()) return Malformed(path, "must be a boolean");
      if (value.get<bool>()) return Unsupported("'uniqueItems': true", path);
    } else if (key == "properties") {
      if (!value.is_object()) return Malformed(path, "must be an object");
      for (const auto& [name, schema] : value.items()) {
        base.properties.push_back({name, {sub(schema, ChildPath(path, name))}});
      }
    } else if (key == "additionalProperties") {
      base.additional = {sub(value, path)};
    } else if (key == "required") {
      if (!value.is_array()) return Malformed(path, "must be an array");
      for (const SchemaJson& name : value) {
        if (!name.is_string()) {
          return Malformed(path, "must list strings");
        }
        const std::string n = name.get<std::string>();
        if (std::find(base.required.begin(), base.required.end(), n) ==
            base.required.end()) {
          base.required.push_back(n);
        }
      }
    } else if (key == "nullable") {
      if (!value.is_boolean()) return Malformed(path, "must be a boolean");
      nullable = value.get<bool>();
    } else if (key == "$ref") {
      if (!value.is_string()) return Malformed(path, "must be a string");
      FM_ASSIGN_OR_RETURN(SchemaRef target,
                          Resolve(value.get<std::string>(), path));
      FM_ASSIGN_OR_RETURN(Disjunction d, NormalizeOne(target));
      parts.push_back(std::move(d));
    } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
      if (!value.is_array() || value.empty()) {
        return Malformed(path, "must be a non-empty array");
      }
      std::vector<Disjunction> branches;
      for (size_t i = 0; i < value.size(); ++i) {
        FM_ASSIGN_OR_RETURN(
            Disjunction d,
            NormalizeOne(sub(value[i], ChildPath(path, std::to_string(i)))));
        branches.push_back(std::move(d));
      }
      if (key == "allOf") {
        for (Disjunction& d : branches) parts.push_back(std::move(d));
      } else {
        if (key == "oneOf") FM_RETURN_IF_ERROR(CheckDisjoint(branches, path));
        Disjunction any;
        for (Disjunction& d : branches) {
          for (FlatSchema& f : d) any.push_back(std::move(f));
        }
        if (static_cast<int32_t>(any.size()) > max_branches_) {
          return absl::ResourceExhaustedError(
              absl::StrCat("json_schema: ", path, " has more than ",
                           max_branches_, " alternatives (the limit)"));
        }
        parts.push_back(std::move(any));
      }
    } else {
      return Unsupported(absl::StrCat("'", key, "'"), path);
    }
  }
  Disjunction result = {base};
  for (const Disjunction& part : parts) {
    FM_ASSIGN_OR_RETURN(result, Product(result, part, ref.path));
  }
  if (nullable) {
    FlatSchema null_only;
    null_only.types = kNullType;
    result.push_back(null_only);
  }
  return result;
}

absl::StatusOr<SchemaRef> SchemaNormalizer::Resolve(
    const std::string& ref, const std::string& at) const {
  std::string fragment = ref;
  if (auto id = root_.find("$id");
      id != root_.end() && id->is_string() &&
      absl::StartsWith(ref, id->get<std::string>() + "#")) {
    fragment = ref.substr(id->get<std::string>().size());
  }
  if (fragment.empty() || fragment[0] != '#') {
    return Unsupported(absl::StrCat("'$ref' to another document (", ref, ")"),
                       at);
  }
  fragment = PercentDecode(fragment.substr(1));
  if (!fragment.empty() && fragment[0] != '/') {
    auto it = anchors_.find(fragment);
    if (it == anchors_.end()) {
      return Malformed(at, absl::StrCat("refers to the anchor ", ref,
                                        ", which is not in the schema"));
    }
    return it->second;
  }
  const SchemaJson* node = &root_;
  std::string path = "#";
  if (!fragment.empty()) {
    for (absl::string_view token :
         absl::StrSplit(absl::string_view(fragment).substr(1), '/')) {
      const std::string key =
          absl::StrReplaceAll(token, {{"~1", "/"}, {"~0", "~"}});
      path = ChildPath(path, key);
      if (node->is_object()) {
        auto it = node->find(key);
        if (it == node->end())
          node = nullptr;
        else
          node = &*it;
      } else if (node->is_array() && !key.empty() &&
                 std::all_of(key.begin(), key.end(), absl::ascii_isdigit) &&
                 key.size() < 10 && std::stoul(key) < node->size()) {
        node = &(*node)[std::stoul(key)];
      } else {
        node = nullptr;
      }
      if (node == nullptr) {
        return Malformed(at, absl::StrCat("refers to ", ref,
                                          ", which is not in the schema"));
      }
    }
  }
  return SchemaRef{node, path};
}

absl::StatusOr<Disjunction> SchemaNormalizer::Product(
    const Disjunction& a, const Disjunction& b, const std::string& at) const {
  Disjunction out;
  for (const FlatSchema& x : a) {
    for (const FlatSchema& y : b) {
      FM_ASSIGN_OR_RETURN(FlatSchema m, Merge(x, y));
      if (m.types == 0) continue;
      if (m.values && m.values->empty()) continue;
      out.push_back(std::move(m));
      if (static_cast<int32_t>(out.size()) > max_branches_) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "json_schema: the schema at ", at, " expands to more than ",
            max_branches_, " alternatives (the limit)"));
      }
    }
  }
  return out;
}

absl::Status SchemaNormalizer::CheckDisjoint(
    const std::vector<Disjunction>& branches, const std::string& at) {
  for (size_t i = 0; i < branches.size(); ++i) {
    for (size_t j = i + 1; j < branches.size(); ++j) {
      for (const FlatSchema& a : branches[i]) {
        for (const FlatSchema& b : branches[j]) {
          FM_ASSIGN_OR_RETURN(bool disjoint, Disjoint(a, b));
          if (!disjoint) {
            return Unsupported(
                absl::StrCat("'oneOf' whose branches ", i, " and ", j,
                             " may both match one value (oneOf is taken as "
                             "anyOf only when no two branches overlap)"),
                at);
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SchemaNormalizer::Disjoint(const FlatSchema& a,
                                                const FlatSchema& b) {
  const uint8_t common = EffectiveTypes(a) & EffectiveTypes(b);
  if (common == 0) return true;
  if (a.values && b.values) {
    for (const SchemaJson& v : *a.values) {
      for (const SchemaJson& w : *b.values) {
        if (JsonEqual(v, w)) return false;
      }
    }
    return true;
  }
  if (common != kObjectType) return false;
  // Objects told apart by a property both require, whose allowed values
  // are constants that differ.
  for (const std::string& name : a.required) {
    if (std::find(b.required.begin(), b.required.end(), name) ==
        b.required.end()) {
      continue;
    }
    const Conjunction* pa = PropertyOf(a, name);
    const Conjunction* pb = PropertyOf(b, name);
    FM_ASSIGN_OR_RETURN(Disjunction da, Normalize(pa ? *pa : a.additional));
    FM_ASSIGN_OR_RETURN(Disjunction db, Normalize(pb ? *pb : b.additional));
    bool all_disjoint = true;
    for (const FlatSchema& x : da) {
      for (const FlatSchema& y : db) {
        if (!x.values || !y.values) {
          all_disjoint = false;
          break;
        }
        FM_ASSIGN_OR_RETURN(bool d, Disjoint(x, y));
        all_disjoint = all_disjoint && d;
      }
      if (!all_disjoint) break;
    }
    if (all_disjoint) return true;
  }
  return false;
}

}  // namespace fm::constraint
