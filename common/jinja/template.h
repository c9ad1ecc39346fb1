// Template: a Jinja2 template (the subset chat templates use) parsed once
// at load, rendered per request. Rendering is bounded: a budget of steps
// (every expression and statement counts), of output bytes, of macro call
// depth and of range() length, so that no template, however written, can
// loop or grow without end.
#ifndef FM_COMMON_JINJA_TEMPLATE_H_
#define FM_COMMON_JINJA_TEMPLATE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jinja/ast.h"
#include "common/jinja/value.h"

namespace fm::jinja {

struct RenderLimits {
  int64_t max_steps = 5'000'000;
  size_t max_output_bytes = 16 << 20;
  int max_call_depth = 32;
  int64_t max_range = 1'000'000;
};

class Template {
 public:
  // INVALID_ARGUMENT "template line N: ..." naming the construct that is
  // malformed or not supported.
  static absl::StatusOr<Template> Parse(absl::string_view source);

  // The template rendered with `globals` as its variables.
  // INVALID_ARGUMENT (naming the line) for an error in an expression or a
  // raise_exception; RESOURCE_EXHAUSTED when a limit is reached.
  absl::StatusOr<std::string> Render(const Object& globals,
                                     const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace fm::jinja

#endif  // FM_COMMON_JINJA_TEMPLATE_H_
