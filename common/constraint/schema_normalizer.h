// SchemaNormalizer: a JSON Schema's subschemas as disjunctions of flat
// keyword sets. $ref, allOf and sibling keywords are merged (intersected
// keyword by keyword) and anyOf / oneOf distributed over them, so that
// what a value must satisfy is one of a few FlatSchemas, each read
// directly into grammar. Subschemas of arrays and objects stay references
// (a Conjunction), normalized when the grammar for them is built: that is
// what lets a recursive schema refer to itself.
#ifndef FM_COMMON_CONSTRAINT_SCHEMA_NORMALIZER_H_
#define FM_COMMON_CONSTRAINT_SCHEMA_NORMALIZER_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/constraint/decimal_range.h"

namespace fm::constraint {

using SchemaJson = nlohmann::ordered_json;

// A subschema and its place, a URI fragment JSON pointer ("#/items").
struct SchemaRef {
  const SchemaJson* node = nullptr;
  std::string path;
};
// Subschemas that must all hold (none: anything holds).
using Conjunction = std::vector<SchemaRef>;

// JSON Schema's types as bits; "number" is integer | fraction.
enum TypeBits : uint8_t {
  kNullType = 1,
  kBooleanType = 2,
  kIntegerType = 4,
  kFractionType = 8,  // numbers that are not integers
  kStringType = 16,
  kArrayType = 32,
  kObjectType = 64,
  kAnyType = 127,
};

// The type bit of a value.
uint8_t TypeOf(const SchemaJson& value);
// JSON Schema's equality: numbers by value, objects without order.
bool JsonEqual(const SchemaJson& a, const SchemaJson& b);

// What one value must satisfy: the conjunction of these keywords. Absent
// keywords do not constrain; each applies only to values of its type.
struct FlatSchema {
  uint8_t types = kAnyType;
  std::optional<std::vector<SchemaJson>> values;  // enum / const
  std::string values_path;

  std::optional<DecimalBound> lower, upper;

  int64_t min_length = 0;
  std::optional<int64_t> max_length;
  std::string length_path;
  std::string pattern, pattern_path;
  std::string format, format_path;

  std::vector<Conjunction> prefix_items;
  Conjunction items;  // beyond prefix_items
  int64_t min_items = 0;
  std::optional<int64_t> max_items;
  std::string items_count_path;

  // Declared properties in order, and the schema of every other one.
  std::vector<std::pair<std::string, Conjunction>> properties;
  Conjunction additional;
  std::vector<std::string> required;
};

using Disjunction = std::vector<FlatSchema>;

class SchemaNormalizer {
 public:
  SchemaNormalizer(const SchemaJson& root, int32_t max_nesting,
                   int32_t max_branches, absl::Time deadline);

  // The alternatives `conjunction` allows (empty: no value satisfies it).
  absl::StatusOr<Disjunction> Normalize(const Conjunction& conjunction);

  // RESOURCE_EXHAUSTED once the deadline passed.
  absl::Status CheckDeadline() const;

 private:
  absl::StatusOr<Disjunction> NormalizeOne(const SchemaRef& ref);
  absl::StatusOr<Disjunction> NormalizeKeywords(const SchemaRef& ref);
  absl::StatusOr<SchemaRef> Resolve(const std::string& ref,
                                    const std::string& at) const;
  // Every combination of one alternative of `a` with one of `b`.
  absl::StatusOr<Disjunction> Product(const Disjunction& a,
                                      const Disjunction& b,
                                      const std::string& at) const;
  // oneOf as anyOf: UNIMPLEMENTED unless no two branches can both match.
  absl::Status CheckDisjoint(const std::vector<Disjunction>& branches,
                             const std::string& at);
  absl::StatusOr<bool> Disjoint(const FlatSchema& a, const FlatSchema& b);

  // Which draft's meaning the keywords have: 2020-12 (the default), or an
  // older one whose `items` array is a tuple and, before 2019-09, whose
  // `$ref` overrides its siblings.
  enum class Dialect { k2020, k2019, kDraft7 };
  // Records `$anchor` and `$dynamicAnchor` names below `node` (not inside
  // instance values such as `const`).
  void CollectAnchors(const SchemaJson& node, const std::string& path);

  const SchemaJson& root_;
  Dialect dialect_ = Dialect::k2020;
  std::map<std::string, SchemaRef> anchors_;  // by name
  const int32_t max_nesting_;
  const int32_t max_branches_;
  const absl::Time deadline_;
  std::map<std::string, Disjunction> memo_;  // by path
  std::set<std::string> in_progress_;        // $ref cycles
  int32_t depth_ = 0;
};

// The intersection of two flat schemas, or UNIMPLEMENTED when it has no
// flat form (two different patterns, ...).
absl::StatusOr<FlatSchema> Merge(const FlatSchema& a, const FlatSchema& b);

// "#/a/b" + "c~d" -> "#/a/b/c~0d".
std::string ChildPath(const std::string& path, const std::string& key);

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_SCHEMA_NORMALIZER_H_
