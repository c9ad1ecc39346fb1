// fm_jinja: Jinja2's semantics where chat templates rely on them, and
// templates that are malformed, unsupported or hostile refused with a
// message naming the line (at load) or stopped by the render limits.
#include <catch2/catch.hpp>

#include <string>

#include "common/jinja/json_value.h"
#include "common/jinja/template.h"

namespace fm::jinja {
namespace {

std::string Render(const std::string& source, const std::string& globals_json = "{}",
                   const RenderLimits& limits = {}) {
  auto t = Template::Parse(source);
  INFO(source << " -> " << t.status());
  REQUIRE(t.ok());
  auto globals = ParseJsonValue(globals_json, "globals");
  REQUIRE(globals.ok());
  auto out = t->Render(globals->as_object(), limits);
  INFO(out.status());
  REQUIRE(out.ok());
  return *out;
}

absl::Status RenderError(const std::string& source, const std::string& globals_json = "{}",
                         const RenderLimits& limits = {}) {
  auto t = Template::Parse(source);
  if (!t.ok()) return t.status();
  auto globals = ParseJsonValue(globals_json, "globals");
  REQUIRE(globals.ok());
  auto out = t->Render(globals->as_object(), limits);
  REQUIRE_FALSE(out.ok());
  return out.status();
}

TEST_CASE("jinja expressions follow Python", "[jinja]") {
  CHECK(Render("{{ 1 + 2 * 3 }}") == "7");
  CHECK(Render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }}") == "3 -4 1 2 3.5");
  CHECK(Render("{{ 2 ** 10 }} {{ 1.0 }} {{ none }} {{ true }} {{ undefined_name }}") ==
        "1024 1.0 None True ");
  CHECK(Render("{{ 'a' ~ 1 ~ none }}") == "a1None");
  CHECK(Render("{{ 'ab' * 3 }}") == "ababab");
  CHECK(Render("{{ [1, 2] + [3] }}") == "[1, 2, 3]");
  CHECK(Render("{{ {'a': 'x', 'b': 2} }}") == "{'a': 'x', 'b': 2}");
  CHECK(Render("{{ 'yes' if 1 < 2 else 'no' }}{{ 'x' if false }}") == "yes");
  CHECK(Render("{{ 0 or 'fallback' }} {{ 'a' and 'b' }} {{ not 0 }}") == "fallback b True");
  CHECK(Render("{{ 'ell' in 'hello' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }}") ==
        "True False True");
  CHECK(Render("{{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1] == [1] }}") == "True True True");
}

TEST_CASE("jinja strings, slices and methods work on code points", "[jinja]") {
  const std::string g = R"({"s": "h\u00e9llo", "l": [1, 2, 3, 4]})";
  CHECK(Render("{{ s[1] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s|length }}", g) ==
        "\xC3\xA9 o \xC3\xA9l oll\xC3\xA9h 5");
  CHECK(Render("{{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ l[::-1] }} {{ l[10] }}", g) ==
        "[2, 3, 4] [1, 2, 3] [1, 3] [4, 3, 2, 1] ");
  CHECK(Render("{{ '  x \\n'.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\nab'.lstrip('\\n') }}") ==
        "x|a|ab");
  CHECK(Render("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a-b-c'.rsplit('-', 1) }}") ==
        "['a', 'b', '', 'c'] ['a', 'b'] ['a-b', 'c']");
  CHECK(Render("{{ 'Hello'.startswith('He') }} {{ 'x.py'.endswith(('.js', '.py')) }}") ==
        "True True");
  CHECK(Render("{{ 'ab'.upper() }}{{ 'AB'.lower() }} {{ 'hello world'.title() }}") ==
        "ABab Hello World");
  CHECK(Render("{{ 'a b'.replace(' ', '_') }} {{ '-'.join(['a', 'b']) }} {{ 'banana'.count('a') }}") ==
        "a_b a-b 3");
}

TEST_CASE("jinja filters and tests", "[jinja]") {
  const std::string g = R"({"m": [{"role": "user", "c": "a"}, {"role": "bot", "c": "b"}],
                            "d": {"x": 1, "y": [true, null]}})";
  CHECK(Render("{{ '  t  '|trim }}|{{ m|length }}|{{ m|first|tojson }}", g) ==
        "t|2|{\"role\": \"user\", \"c\": \"a\"}");
  CHECK(Render("{{ d|tojson }}", g) == "{\"x\": 1, \"y\": [true, null]}");
  CHECK(Render("{{ d|tojson(indent=2) }}", g) == "{\n  \"x\": 1,\n  \"y\": [\n    true,\n    null\n  ]\n}");
  CHECK(Render("{{ m|map(attribute='c')|join(',') }}", g) == "a,b");
  CHECK(Render("{{ m|selectattr('role', 'equalto', 'bot')|list|length }}", g) == "1");
  CHECK(Render("{{ m|rejectattr('role', 'equalto', 'bot')|map(attribute='c')|first }}", g) == "a");
  CHECK(Render("{{ missing|default('dflt') }} {{ ''|default('e', true) }}") == "dflt e");
  CHECK(Render("{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}", g) == "x=1;y=[True, None];");
  CHECK(Render("{{ x is defined }} {{ d.x is defined }} {{ d is mapping }} {{ 's' is string }}",
               g) == "False True True True");
  CHECK(Render("{{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ none is none }} {{ m is iterable }}", g) ==
        "True True True True");
  CHECK(Render("{{ d.x is not none }} {{ false is false }}", g) == "True True");
}

TEST_CASE("jinja statements and scoping", "[jinja]") {
  const std::string g = R"({"items": ["a", "b", "c"]})";
  CHECK(Render("{% for i in items %}{{ loop.index }}{{ i }}{% if not loop.last %},{% endif %}"
               "{% endfor %}", g) == "1a,2b,3c");
  CHECK(Render("{% for i in items if i != 'b' %}{{ loop.index0 }}/{{ loop.length }}{% endfor %}",
               g) == "0/21/2");
  CHECK(Render("{% for i in [] %}x{% else %}empty{% endfor %}") == "empty");
  CHECK(Render("{% for i in items %}{% if i == 'b' %}{% break %}{% endif %}{{ i }}{% endfor %}",
               g) == "a");
  CHECK(Render("{% for i in items %}{% if i == 'b' %}{% continue %}{% endif %}{{ i }}{% endfor %}",
               g) == "ac");
  // A set inside a loop stays inside it; a namespace carries it out.
  CHECK(Render("{% set x = 1 %}{% for i in items %}{% set x = 2 %}{% endfor %}{{ x }}", g) == "1");
  CHECK(Render("{% set ns = namespace(n=0) %}{% for i in items %}{% set ns.n = ns.n + 1 %}"
               "{% endfor %}{{ ns.n }}", g) == "3");
  CHECK(Render("{% set block %}in {{ 1 + 1 }}{% endset %}[{{ block }}]") == "[in 2]");
  CHECK(Render("{% macro greet(name, punct='!') %}hi {{ name }}{{ punct }}{% endmacro %}"
               "{{ greet('a') }} {{ greet('b', punct='?') }}") == "hi a! hi b?");
  CHECK(Render("{% if false %}a{% elif 1 %}b{% else %}c{% endif %}") == "b");
  CHECK(Render("{% for x in range(3) %}{{ x }}{% endfor %}{{ range(1, 7, 2) }}") == "012[1, 3, 5]");
  CHECK(Render("{{ a.b.c }}", R"({"a": {"b": {"c": "deep"}}})") == "deep");
}

TEST_CASE("jinja whitespace control as Hugging Face configures it", "[jinja]") {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: the
  // indentation before one.
  CHECK(Render("{% if true %}\n  x\n{% endif %}\n") == "  x\n");
  CHECK(Render("  {% if true %}y{% endif %}") == "y");
  CHECK(Render("a  {%- if true -%}  b  {%- endif %}  c") == "ab  c");
  CHECK(Render("a {{- 'b' -}} c") == "abc");
  CHECK(Render("{{ 'x' }}\n") == "x");  // one trailing newline dropped
  CHECK(Render("x {# a comment #}y") == "x y");
  CHECK(Render("{{ 'a}}b' }}") == "a}}b");
}

TEST_CASE("jinja refuses what it does not implement, naming the line", "[jinja]") {
  auto error = [](const std::string& source) {
    auto t = Template::Parse(source);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(t.status().message());
  };
  CHECK_THAT(error("line one\n{% include 'x' %}"),
             Catch::Contains("template line 2: tag 'include' is not supported"));
  CHECK_THAT(error("{{ x | frobnicate }}"), Catch::Contains("filter 'frobnicate' is not supported"));
  CHECK_THAT(error("{{ x is prime }}"), Catch::Contains("test 'prime' is not supported"));
  CHECK_THAT(error("\n\n{{ cycler() }}"),
             Catch::Contains("template line 3: function 'cycler' is not supported"));
  CHECK_THAT(error("{{ 'x'.zfill(3) }}"), Catch::Contains("method 'zfill' is not supported"));
  CHECK_THAT(error("{% if x %}never closed"), Catch::Contains("'{% elif %}' is missing"));
  CHECK_THAT(error("{{ 'open"), Catch::Contains("not closed"));
  CHECK_THAT(error("{{ 1 + }}"), Catch::Contains("expected a value"));
  CHECK_THAT(error("{% for %}"), Catch::Contains("expected a name"));
  CHECK_THAT(error("{{ $ }}"), Catch::Contains("unexpected character"));
  CHECK_THAT(error("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"),
             Catch::Contains("nests deeper than"));
  std::string nested;
  for (int i = 0; i < 200; ++i) nested += "{% if x %}";
  CHECK_THAT(error(nested), Catch::Contains("nests deeper than"));
}

TEST_CASE("jinja render limits stop hostile templates", "[jinja]") {
  RenderLimits small;
  small.max_steps = 100000;
  small.max_output_bytes = 1 << 16;
  small.max_range = 1000;
  // Loops that would run for ever, recursion, output that doubles.
  absl::Status s = RenderError(
      "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
      "{% endfor %}{% endfor %}{% endfor %}", "{}", small);
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(s.message()), Catch::Contains("budget of 100000 steps"));
  s = RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "{}", small);
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(s.message()), Catch::Contains("macro calls deeper"));
  s = RenderError("{% set ns = namespace(s='xx') %}{% for i in range(100) %}"
                  "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", "{}", small);
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  s = RenderError("{{ 'x' * 100000000000 }}", "{}", small);
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  s = RenderError("{% set big = 'x' * 1000000 %}{{ (range(100)|list)|join(big)|length }}");
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  s = RenderError("{% set big = 'x' * 10000 %}{{ big.replace('x', big)|length }}");
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  s = RenderError("{{ 'a\nb'|indent(1000000000) }}", "{}", small);
  CHECK_THAT(std::string(s.message()), Catch::Contains("width must be in"));
  s = RenderError("{{ range(100000000) }}", "{}", small);
  CHECK_THAT(std::string(s.message()), Catch::Contains("more than 1000 items"));
  // Errors name their line; raise_exception carries the template's words.
  s = RenderError("ok\n{{ raise_exception('roles must alternate') }}");
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(s.message()), Catch::Contains("template line 2"));
  CHECK_THAT(std::string(s.message()), Catch::Contains("roles must alternate"));
  s = RenderError("{{ 'a' + 1 }}");
  CHECK_THAT(std::string(s.message()), Catch::Contains("unsupported operand types for +"));
  s = RenderError("{{ 1 // 0 }}");
  CHECK_THAT(std::string(s.message()), Catch::Contains("division by zero"));
  s = RenderError("{% set x = 1 %}{% set x.y = 2 %}");
  CHECK_THAT(std::string(s.message()), Catch::Contains("is not a namespace()"));
}

TEST_CASE("JSON values keep key order and refuse deep nesting", "[jinja]") {
  auto v = ParseJsonValue(R"({"z": 1, "a": [1.5, "s", null, false]})", "x");
  REQUIRE(v.ok());
  CHECK(v->ToJson() == R"({"z": 1, "a": [1.5, "s", null, false]})");
  auto deep = ParseJsonValue(std::string(100000, '[') + std::string(100000, ']'), "x");
  CHECK_THAT(std::string(deep.status().message()), Catch::Contains("nests deeper than 64"));
  auto bad = ParseJsonValue("{\"a\": ", "field");
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("field: not valid JSON"));
}

}  // namespace
}  // namespace fm::jinja
