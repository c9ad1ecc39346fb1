// FuzzJsonSchema: normalize and compile a schema under tight limits, then
// walk the grammar.
#include "tests/fuzz/json_schema_fuzz.h"

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/constraint/json_schema_compiler.h"
#include "tests/fuzz/constraint_fuzz.h"

namespace fm::fuzz {

int FuzzJsonSchema(const uint8_t* data, size_t size) {
  constraint::JsonSchemaOptions options;
  options.max_whitespace = 2;
  options.limits.max_schema_bytes = 8192;
  options.limits.max_branches = 64;
  options.limits.max_count = 200;
  options.limits.max_compile_time = absl::Milliseconds(200);
  options.limits.grammar.max_elements = 50000;
  options.limits.grammar.max_rules = 10000;
  absl::StatusOr<constraint::ByteGrammar> grammar =
      constraint::CompileJsonSchema(
          absl::string_view(reinterpret_cast<const char*>(data), size),
          options);
  if (!grammar.ok()) return 0;
  return WalkConstraint(*grammar, data, size);
}

}  // namespace fm::fuzz
