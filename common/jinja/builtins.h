// The filters, tests, global functions and methods the interpreter
// implements, with Python's and Jinja2's semantics for the values chat
// templates pass them (strings are sequences of code points). The parser
// asks for the names so that an unsupported one fails at load.
#ifndef FM_COMMON_JINJA_BUILTINS_H_
#define FM_COMMON_JINJA_BUILTINS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jinja/value.h"

namespace fm::jinja {

struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;

  // positional[i], else the keyword `name`, else undefined.
  Value Get(size_t i, absl::string_view name) const;
};

bool IsKnownFilter(absl::string_view name);
bool IsKnownTest(absl::string_view name);
bool IsKnownFunction(absl::string_view name);
bool IsKnownMethod(absl::string_view name);

// INVALID_ARGUMENT naming the filter (test, method) and what is wrong
// with its operand or arguments.
absl::StatusOr<Value> ApplyFilter(absl::string_view name, const Value& value,
                                  const Args& args);
absl::StatusOr<bool> ApplyTest(absl::string_view name, const Value& value,
                               const Args& args);
absl::StatusOr<Value> CallMethod(const Value& self, absl::string_view name,
                                 const Args& args);
// range, namespace, dict, raise_exception (INVALID_ARGUMENT with the
// template's message), strftime_now. `range` refuses more than
// `max_range` items.
absl::StatusOr<Value> CallFunction(absl::string_view name, const Args& args,
                                   int64_t max_range);

// Python's s[index] and s[start:stop:step] on code points (arrays too).
absl::StatusOr<Value> Index(const Value& container, const Value& index);
Value Slice(const Value& container, const Value& start, const Value& stop,
            const Value& step);
// Python's `needle in haystack` (substring, list member, dict key).
bool Contains(const Value& haystack, const Value& needle);

}  // namespace fm::jinja

#endif  // FM_COMMON_JINJA_BUILTINS_H_
