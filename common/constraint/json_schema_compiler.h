// CompileJsonSchema: a JSON Schema (draft 2020-12) to a ByteGrammar
// matching the JSON texts that validate against it, with free whitespace
// bounded as in CompileJsonGrammar.
//
// Supported: boolean schemas; type (and unions); enum, const (numbers by
// value: 1 and 1.0 are equal); minimum, maximum, exclusiveMinimum,
// exclusiveMaximum (exact decimals); minLength, maxLength (code points);
// pattern (ECMAScript, anywhere in the string unless anchored); format
// (date, time, date-time, email, ipv4, ipv6, uuid, uri — asserted, as the
// format-assertion vocabulary does); properties, required,
// additionalProperties (absent: any other property is allowed, as the
// specification says); prefixItems, items, minItems, maxItems; anyOf;
// oneOf where its branches are provably disjoint (by type, by values, or
// by a required property with distinct constant values), so that it
// equals anyOf; allOf and sibling keywords (merged: intersected keyword by
// keyword, distributed over anyOf); $ref to "#..." JSON pointers and
// $defs, recursion included; OpenAPI's `nullable: true`; annotations
// (title, description, default, examples, $comment, ...); $anchor and
// $dynamicAnchor as $ref targets; "$schema" draft 2020-12, 2019-09, 07 or
// 06 (the older ones' tuple `items` and, before 2019-09, `$ref` replacing
// its siblings). Each declared property at most once (a model repeating
// one need never end); with at most `max_any_order` declared properties
// in any order, with more in the order `properties` lists them (then the
// required ones it does not list).
//
// Everything else fails closed: another keyword, or a combination whose
// exact intersection is not built (two different patterns, a pattern with
// a length or a format, ...), is UNIMPLEMENTED naming it and its JSON
// pointer ("#/properties/a/not"); a malformed schema or one no JSON value
// satisfies is INVALID_ARGUMENT naming its place; one that outgrows a
// limit or the compile deadline is RESOURCE_EXHAUSTED naming the limit.
// The grammar never accepts a text the schema rejects; where an exact
// form is not regular it accepts a sound subset, documented where it is
// built (numbers written without exponents under a bound or as a constant,
// at most 16 redundant trailing zeros, strings with a pattern only in the
// escapes serializers write, no year 0000).
#ifndef FM_COMMON_CONSTRAINT_JSON_SCHEMA_COMPILER_H_
#define FM_COMMON_CONSTRAINT_JSON_SCHEMA_COMPILER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/constraint/byte_grammar.h"

namespace fm::constraint {

struct JsonSchemaLimits {
  int64_t max_schema_bytes = 1 << 20;
  int32_t max_nesting = 64;  // of the schema's JSON, and of subschemas
  // Alternatives after distributing anyOf / oneOf over allOf and siblings.
  int32_t max_branches = 256;
  // Counted repetitions (minLength, maxLength, minItems, maxItems) are
  // unrolled; larger counts are refused.
  int64_t max_count = 10000;
  // Declared properties accepted in any order (2^n states).
  int32_t max_any_order = 6;
  absl::Duration max_compile_time = absl::Seconds(2);
  GrammarLimits grammar;
};

struct JsonSchemaOptions {
  // Whitespace characters allowed in one gap between tokens.
  int32_t max_whitespace = 12;
  JsonSchemaLimits limits;
};

// Builds every known format's grammar now rather than when a schema first
// uses it (the exact `time` has 1,440 leap-second alternatives: 15-20 ms
// once per process), so that no request pays it. Servers call it at start.
absl::Status PrebuildStringFormats();

absl::StatusOr<ByteGrammar> CompileJsonSchema(
    absl::string_view schema_json, const JsonSchemaOptions& options = {});

}  // namespace fm::constraint

#endif  // FM_COMMON_CONSTRAINT_JSON_SCHEMA_COMPILER_H_
