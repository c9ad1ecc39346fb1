// OpenAI JSON -> GenerateRequest / ChatRequest. Every field is taken by
// exactly one reader below; what no reader took is refused by name, as
// OpenAI does, so that a misspelt option never silently does nothing.
#include "services/gateway/openai/openai_request.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/chain_proto_json.h"
#include "common/json_nesting.h"
#include "common/status_macros.h"

namespace fm::gateway::openai {
namespace {

using Json = nlohmann::json;

constexpr char kParamPayload[] = "type.fmserve.dev/openai.param";

const char* TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

absl::Status WrongType(absl::string_view param, const Json& v,
                       absl::string_view expected) {
  return FieldError(param, absl::StrCat(param, " must be ", expected, " (got ",
                                        TypeName(v), ")"));
}

// The body's top-level object, read field by field; Finish() refuses
// whatever no reader asked for.
class Fields {
 public:
  explicit Fields(const Json& object) : object_(object) {}

  // nullptr when absent or null (OpenAI clients send null for "unset").
  const Json* Take(const char* name) {
    taken_.insert(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  absl::Status Bool(const char* name, bool* out) {
    const Json* v = Take(name);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_boolean()) return WrongType(name, *v, "a boolean");
    *out = v->get<bool>();
    return absl::OkStatus();
  }
  absl::Status Number(const char* name, bool* present, double* out) {
    const Json* v = Take(name);
    *present = v != nullptr;
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_number()) return WrongType(name, *v, "a number");
    *out = v->get<double>();
    return absl::OkStatus();
  }
  absl::Status Int(const char* name, bool* present, int64_t* out) {
    const Json* v = Take(name);
    *present = v != nullptr;
    if (v == nullptr) return absl::OkStatus();
    return IntValue(name, *v, out);
  }
  absl::Status String(const char* name, std::string* out) {
    const Json* v = Take(name);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string()) return WrongType(name, *v, "a string");
    *out = v->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Finish() const {
    std::vector<std::string> unknown;
    for (const auto& [key, value] : object_.items()) {
      if (taken_.count(key) == 0) unknown.push_back(key);
    }
    if (unknown.empty()) return absl::OkStatus();
    return FieldError(unknown[0],
                      absl::StrCat("unknown field ", Json(unknown[0]).dump(),
                                   " (fmserve does not support it)"));
  }

  static absl::Status IntValue(absl::string_view param, const Json& v,
                               int64_t* out) {
    if (v.is_number_integer()) {
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return FieldError(
            param, absl::StrCat(param, " = ", v.dump(), " is too large"));
      }
      *out = v.get<int64_t>();
      return absl::OkStatus();
    }
    // 2.0 is an integer too (JavaScript numbers).
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
        *out = static_cast<int64_t>(d);
        return absl::OkStatus();
      }
    }
    return WrongType(param, v, "an integer");
  }

 private:
  const Json& object_;
  std::set<std::string, std::less<>> taken_;
};

// An int32 field of the gateway's request: values beyond int32 are refused
// here (the gateway then checks the real range).
absl::Status Int32(Fields& f, const char* name, bool* present, int32_t* out) {
  int64_t v = 0;
  FM_RETURN_IF_ERROR(f.Int(name, present, &v));
  if (!*present) return absl::OkStatus();
  if (v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max()) {
    return FieldError(name, absl::StrCat(name, " = ", v, " is out of range"));
  }
  *out = static_cast<int32_t>(v);
  return absl::OkStatus();
}

absl::Status ReadStop(Fields& f, fm::v1::GenerateRequest* r) {
  const Json* stop = f.Take("stop");
  if (stop == nullptr) return absl::OkStatus();
  if (stop->is_string()) {
    r->add_stop(stop->get<std::string>());
    return absl::OkStatus();
  }
  if (!stop->is_array()) {
    return WrongType("stop", *stop, "a string or an array of strings");
  }
  for (size_t i = 0; i < stop->size(); ++i) {
    if (!(*stop)[i].is_string()) {
      return WrongType(absl::StrCat("stop[", i, "]"), (*stop)[i], "a string");
    }
    r->add_stop((*stop)[i].get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ReadLogitBias(const Json& v, fm::v1::SamplingShorthand* s) {
  if (!v.is_object()) {
    return WrongType("logit_bias", v, "an object of token id -> bias");
  }
  for (const auto& [key, bias] : v.items()) {
    int64_t id = -1;
    size_t used = 0;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || key.empty() || id < 0 ||
        id > std::numeric_limits<int32_t>::max()) {
      return FieldError("logit_bias",
                        absl::StrCat("logit_bias key ", Json(key).dump(),
                                     " is not a token id"));
    }
    if (!bias.is_number()) {
      return WrongType(absl::StrCat("logit_bias[", key, "]"), bias, "a number");
    }
    (*s->mutable_logit_bias())[static_cast<int32_t>(id)] =
        static_cast<float>(bias.get<double>());
  }
  return absl::OkStatus();
}

// temperature, top_p, penalties, logit_bias and fmserve's top_k, min_p,
// repetition_penalty, or a profile, or an inline chain: one of the three.
// The shorthands fill what the request leaves unset with OpenAI's
// defaults (temperature 1, no top_k, top_p or min_p), not llama.cpp's;
// a request with none of them uses the sampler's "default" profile.
absl::Status ReadSampling(Fields& f, fm::v1::GenerateRequest* r) {
  fm::v1::SamplingShorthand* s = r->mutable_shorthand();
  std::vector<std::string> given;
  struct FloatField {
    const char* name;
    void (fm::v1::SamplingShorthand::*set)(float);
  };
  for (const FloatField& field : {
           FloatField{"temperature",
                      &fm::v1::SamplingShorthand::set_temperature},
           FloatField{"top_p", &fm::v1::SamplingShorthand::set_top_p},
           FloatField{"min_p", &fm::v1::SamplingShorthand::set_min_p},
           FloatField{"presence_penalty",
                      &fm::v1::SamplingShorthand::set_presence_penalty},
           FloatField{"frequency_penalty",
                      &fm::v1::SamplingShorthand::set_frequency_penalty},
           FloatField{"repetition_penalty",
                      &fm::v1::SamplingShorthand::set_repetition_penalty},
       }) {
    bool present = false;
    double v = 0;
    FM_RETURN_IF_ERROR(f.Number(field.name, &present, &v));
    if (!present) continue;
    // Out of float's range stays out of range (the gateway refuses it).
    (s->*field.set)(static_cast<float>(v));
    given.push_back(field.name);
  }
  bool has_top_k = false;
  int32_t top_k = 0;
  FM_RETURN_IF_ERROR(Int32(f, "top_k", &has_top_k, &top_k));
  if (has_top_k) {
    // vLLM spells "off" -1.
    s->set_top_k(top_k == -1 ? 0 : top_k);
    given.push_back("top_k");
  }
  if (const Json* bias = f.Take("logit_bias")) {
    FM_RETURN_IF_ERROR(ReadLogitBias(*bias, s));
    if (s->logit_bias_size() > 0) given.push_back("logit_bias");
  }
  std::string profile;
  FM_RETURN_IF_ERROR(f.String("profile", &profile));
  const Json* chain = f.Take("chain");
  if (chain != nullptr && !profile.empty()) {
    return FieldError("chain", "give either chain or profile, not both");
  }
  if ((chain != nullptr || !profile.empty()) && !given.empty()) {
    return FieldError(given[0],
                      absl::StrCat(given[0], " cannot be combined with ",
                                   chain != nullptr ? "chain" : "profile",
                                   " (put it in the chain instead)"));
  }
  if (chain != nullptr) {
    if (!chain->is_array()) {
      return WrongType("chain", *chain, "an array of stage objects");
    }
    absl::StatusOr<fm::v1::SamplerChain> parsed = ChainFromJson(chain->dump());
    if (!parsed.ok()) return FieldError("chain", parsed.status().message());
    *r->mutable_sampling()->mutable_chain() = *std::move(parsed);
    r->clear_shorthand();
  } else if (!profile.empty()) {
    r->mutable_sampling()->set_profile(profile);
    r->clear_shorthand();
  } else if (given.empty()) {
    r->clear_shorthand();
  } else {
    if (!s->has_temperature()) s->set_temperature(1);
    if (!s->has_top_p()) s->set_top_p(1);
    if (!s->has_top_k()) s->set_top_k(0);
    if (!s->has_min_p()) s->set_min_p(0);
  }
  return absl::OkStatus();
}

absl::Status ReadChoices(const Json& v, const std::string& param,
                         fm::v1::Constraint* c) {
  if (!v.is_array()) return WrongType(param, v, "an array of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      return WrongType(absl::StrCat(param, "[", i, "]"), v[i], "a string");
    }
    c->mutable_choice()->add_choices(v[i].get<std::string>());
  }
  return absl::OkStatus();
}

// response_format (OpenAI), fmserve's `constraint` object, and vLLM's
// guided_json / guided_regex / guided_choice / guided_grammar: at most one.
absl::Status ReadConstraint(Fields& f, fm::v1::GenerateRequest* r) {
  std::vector<std::string> given;
  fm::v1::Constraint* c = r->mutable_constraint();
  if (const Json* format = f.Take("response_format")) {
    if (!format->is_object()) {
      return WrongType("response_format", *format, "an object");
    }
    const auto type = format->find("type");
    if (type == format->end() || !type->is_string()) {
      return FieldError("response_format",
                        "response_format.type must be \"text\", "
                        "\"json_object\" or \"json_schema\"");
    }
    const std::string kind = type->get<std::string>();
    if (kind == "json_object") {
      c->set_json(true);
      given.push_back("response_format");
    } else if (kind == "json_schema") {
      const auto spec = format->find("json_schema");
      if (spec == format->end() || !spec->is_object()) {
        return FieldError("response_format",
                          "response_format.json_schema must be an object "
                          "with a \"schema\"");
      }
      const auto schema = spec->find("schema");
      if (schema == spec->end() ||
          !(schema->is_object() || schema->is_boolean())) {
        return FieldError("response_format",
                          "response_format.json_schema.schema must be a JSON "
                          "Schema (an object or a boolean)");
      }
      c->set_json_schema(schema->dump());
      given.push_back("response_format");
    } else if (kind != "text") {
      return FieldError("response_format",
                        absl::StrCat("response_format.type ", Json(kind).dump(),
                                     " is not \"text\", \"json_object\" or "
                                     "\"json_schema\""));
    }
  }
  if (const Json* v = f.Take("guided_json")) {
    if (v->is_string()) {
      c->set_json_schema(v->get<std::string>());
    } else if (v->is_object() || v->is_boolean()) {
      c->set_json_schema(v->dump());
    } else {
      return WrongType("guided_json", *v, "a JSON Schema");
    }
    given.push_back("guided_json");
  }
  if (const Json* v = f.Take("guided_regex")) {
    if (!v->is_string()) return WrongType("guided_regex", *v, "a string");
    c->set_regex(v->get<std::string>());
    given.push_back("guided_regex");
  }
  if (const Json* v = f.Take("guided_grammar")) {
    if (!v->is_string()) return WrongType("guided_grammar", *v, "a string");
    c->set_grammar(v->get<std::string>());
    given.push_back("guided_grammar");
  }
  if (const Json* v = f.Take("guided_choice")) {
    FM_RETURN_IF_ERROR(ReadChoices(*v, "guided_choice", c));
    given.push_back("guided_choice");
  }
  if (const Json* v = f.Take("constraint")) {
    if (!v->is_object() || v->size() != 1) {
      return FieldError("constraint",
                        "constraint must be an object with one of "
                        "json_schema, regex, grammar, choice, json");
    }
    const std::string key = v->begin().key();
    const Json& value = v->begin().value();
    const std::string param = "constraint." + key;
    if (key == "json_schema") {
      c->set_json_schema(value.is_string() ? value.get<std::string>()
                                           : value.dump());
    } else if (key == "regex" || key == "grammar") {
      if (!value.is_string()) return WrongType(param, value, "a string");
      key == "regex" ? c->set_regex(value.get<std::string>())
                     : c->set_grammar(value.get<std::string>());
    } else if (key == "choice") {
      FM_RETURN_IF_ERROR(ReadChoices(value, param, c));
    } else if (key == "json") {
      if (!value.is_boolean()) return WrongType(param, value, "a boolean");
      c->set_json(value.get<bool>());
    } else {
      return FieldError("constraint",
                        absl::StrCat("constraint.", key,
                                     " is not json_schema, regex, grammar, "
                                     "choice or json"));
    }
    given.push_back("constraint");
  }
  if (given.size() > 1) {
    return FieldError(given[1], absl::StrCat(given[1], " and ", given[0],
                                             " both constrain the output; "
                                             "give one"));
  }
  if (given.empty()) r->clear_constraint();
  return absl::OkStatus();
}

absl::Status ReadSelect(const Json& v, fm::v1::Selection* s) {
  static const std::pair<const char*, fm::v1::Selection::Method> kMethods[] = {
      {"mean_logprob", fm::v1::Selection::MEAN_LOGPROB},
      {"sum_logprob", fm::v1::Selection::SUM_LOGPROB},
      {"majority", fm::v1::Selection::MAJORITY},
      {"verifier", fm::v1::Selection::VERIFIER}};
  const Json* method = &v;
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (key == "method") continue;
      const std::string param = "select." + key;
      if (key == "extract" || key == "verifier") {
        if (!value.is_string()) return WrongType(param, value, "a string");
        key == "extract" ? s->set_extract(value.get<std::string>())
                         : s->set_verifier(value.get<std::string>());
      } else if (key == "trim" || key == "ignore_case") {
        if (!value.is_boolean()) return WrongType(param, value, "a boolean");
        key == "trim" ? s->set_trim(value.get<bool>())
                      : s->set_ignore_case(value.get<bool>());
      } else {
        return FieldError("select", absl::StrCat("unknown field select.", key));
      }
    }
    const auto it = v.find("method");
    if (it == v.end()) return FieldError("select", "select.method is missing");
    method = &*it;
  }
  if (!method->is_string()) {
    return WrongType("select", *method, "a method name or an object");
  }
  for (const auto& [name, value] : kMethods) {
    if (method->get<std::string>() == name) {
      s->set_method(value);
      return absl::OkStatus();
    }
  }
  return FieldError("select", absl::StrCat("select method ", method->dump(),
                                           " is not mean_logprob, sum_logprob, "
                                           "majority or verifier"));
}

// Everything both endpoints share, into `r` (the prompt aside).
absl::Status ReadGenerateOptions(Fields& f, OpenAiPlan& plan,
                                 fm::v1::GenerateRequest* r) {
  FM_RETURN_IF_ERROR(f.Bool("stream", &plan.stream));
  if (const Json* options = f.Take("stream_options")) {
    if (!options->is_object()) {
      return WrongType("stream_options", *options, "an object");
    }
    for (const auto& [key, value] : options->items()) {
      if (key != "include_usage") {
        return FieldError("stream_options",
                          absl::StrCat("unknown field stream_options.", key));
      }
      if (!value.is_boolean()) {
        return WrongType("stream_options.include_usage", value, "a boolean");
      }
      plan.include_usage = value.get<bool>();
    }
    if (!plan.stream) {
      return FieldError("stream_options",
                        "stream_options is only allowed with stream: true");
    }
  }
  bool present = false;
  int32_t value = 0;
  FM_RETURN_IF_ERROR(Int32(f, "max_tokens", &present, &value));
  if (present) r->set_max_tokens(value);
  FM_RETURN_IF_ERROR(Int32(f, "n", &present, &value));
  if (present) {
    // Checked here too: the response holds n choices before the gateway
    // sees the request. The gateway's own limit may be lower.
    if (value < 1 || value > kMaxChoicesPerPrompt) {
      return FieldError("n", absl::StrCat("n = ", value, " is outside [1, ",
                                          kMaxChoicesPerPrompt, "]"));
    }
    r->set_n(value);
  }
  plan.n = r->n() > 0 ? r->n() : 1;
  FM_RETURN_IF_ERROR(ReadStop(f, r));
  int64_t seed = 0;
  FM_RETURN_IF_ERROR(f.Int("seed", &present, &seed));
  if (present) {
    if (seed < 0) {
      return FieldError("seed", absl::StrCat("seed = ", seed, " must be >= 0"));
    }
    r->set_seed(static_cast<uint64_t>(seed));
  }
  FM_RETURN_IF_ERROR(ReadSampling(f, r));
  FM_RETURN_IF_ERROR(ReadConstraint(f, r));
  // Accepted and not used: OpenAI's end-user id and request metadata.
  std::string ignored;
  FM_RETURN_IF_ERROR(f.String("user", &ignored));
  if (const Json* metadata = f.Take("metadata");
      metadata != nullptr && !metadata->is_object()) {
    return WrongType("metadata", *metadata, "an object");
  }
  // fmserve's extras.
  std::string route;
  FM_RETURN_IF_ERROR(f.String("sampler_route", &route));
  r->set_sampler_route(route);
  FM_RETURN_IF_ERROR(Int32(f, "best_of", &present, &value));
  if (present) r->set_best_of(value);
  if (const Json* select = f.Take("select")) {
    FM_RETURN_IF_ERROR(ReadSelect(*select, r->mutable_select()));
  }
  FM_RETURN_IF_ERROR(Int32(f, "min_tokens", &present, &value));
  if (present) r->set_min_tokens(value);
  bool flag = false;
  FM_RETURN_IF_ERROR(f.Bool("ignore_eos", &flag));
  r->set_ignore_eos(flag);
  flag = false;
  FM_RETURN_IF_ERROR(f.Bool("include_stop_str_in_output", &flag));
  r->set_include_stop_str(flag);
  flag = false;
  FM_RETURN_IF_ERROR(f.Bool("no_cache", &flag));
  r->set_no_cache(flag);
  if (const Json* ids = f.Take("stop_token_ids")) {
    if (!ids->is_array()) {
      return WrongType("stop_token_ids", *ids, "an array of token ids");
    }
    for (size_t i = 0; i < ids->size(); ++i) {
      int64_t id = 0;
      const std::string param = absl::StrCat("stop_token_ids[", i, "]");
      FM_RETURN_IF_ERROR(Fields::IntValue(param, (*ids)[i], &id));
      if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
        return FieldError(param,
                          absl::StrCat(param, " = ", id, " is not a token id"));
      }
      r->add_stop_token_ids(static_cast<int32_t>(id));
    }
  }
  std::string mode;
  FM_RETURN_IF_ERROR(f.String("logprobs_mode", &mode));
  if (mode == "processed") {
    r->set_logprobs_mode(fm::v1::LOGPROBS_MODE_PROCESSED);
  } else if (!mode.empty() && mode != "raw") {
    return FieldError("logprobs_mode",
                      absl::StrCat("logprobs_mode ", Json(mode).dump(),
                                   " is not \"raw\" or \"processed\""));
  }
  FM_RETURN_IF_ERROR(Int32(f, "beam_width", &present, &value));
  if (present) r->set_beam_width(value);
  double length_penalty = 0;
  FM_RETURN_IF_ERROR(f.Number("length_penalty", &present, &length_penalty));
  if (present) r->set_length_penalty(static_cast<float>(length_penalty));
  flag = false;
  FM_RETURN_IF_ERROR(f.Bool("early_stopping", &flag));
  r->set_early_stopping(flag);
  return absl::OkStatus();
}

// `prompt`: a string, a list of strings, a list of token ids, or a list of
// lists of token ids. Each becomes its own Generate.
absl::Status ReadPrompts(const Json* prompt,
                         const fm::v1::GenerateRequest& base,
                         OpenAiPlan& plan) {
  if (prompt == nullptr) return FieldError("prompt", "prompt is required");
  std::vector<const Json*> prompts;
  const bool token_list =
      prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number();
  // A list of prompts names its entries (prompt[0][1]) even when it holds
  // one; a lone prompt is "prompt".
  const bool listed = !(prompt->is_string() || token_list);
  if (!listed) {
    prompts.push_back(prompt);
  } else if (prompt->is_array()) {
    for (const Json& p : *prompt) prompts.push_back(&p);
  } else {
    return WrongType("prompt", *prompt,
                     "a string, an array of strings or an array of token ids");
  }
  if (prompts.empty()) return FieldError("prompt", "prompt is an empty list");
  if (prompts.size() > static_cast<size_t>(kMaxPrompts)) {
    return FieldError("prompt",
                      absl::StrCat("prompt has ", prompts.size(),
                                   " entries; at most ", kMaxPrompts));
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Json& p = *prompts[i];
    const std::string param =
        listed ? absl::StrCat("prompt[", i, "]") : std::string("prompt");
    fm::v1::GenerateRequest r = base;
    if (p.is_string()) {
      r.set_text(p.get<std::string>());
      plan.prompt_texts.push_back(p.get<std::string>());
    } else if (p.is_array()) {
      // Token ids are the exact prompt: no BOS is added to them.
      r.set_add_bos(false);
      for (size_t j = 0; j < p.size(); ++j) {
        int64_t id = 0;
        const std::string at = absl::StrCat(param, "[", j, "]");
        FM_RETURN_IF_ERROR(Fields::IntValue(at, p[j], &id));
        if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
          return FieldError(at,
                            absl::StrCat(at, " = ", id, " is not a token id"));
        }
        r.mutable_ids()->add_ids(static_cast<int32_t>(id));
      }
      plan.prompt_texts.emplace_back();
    } else {
      return WrongType(param, p, "a string or an array of token ids");
    }
    plan.prompts.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::Status ReadCompletion(Fields& f, OpenAiPlan& plan) {
  fm::v1::GenerateRequest base;
  // OpenAI's default for completions.
  base.set_max_tokens(16);
  FM_RETURN_IF_ERROR(ReadGenerateOptions(f, plan, &base));
  FM_RETURN_IF_ERROR(f.Bool("echo", &plan.echo));
  bool present = false;
  int32_t logprobs = 0;
  FM_RETURN_IF_ERROR(Int32(f, "logprobs", &present, &logprobs));
  if (present) {
    if (logprobs < 0 || logprobs > 20) {
      return FieldError("logprobs", absl::StrCat("logprobs = ", logprobs,
                                                 " must be in [0, 20]"));
    }
    plan.logprobs = true;
    plan.top_logprobs = logprobs;
    base.set_logprobs(true);
    base.set_top_logprobs(logprobs);
  }
  if (plan.echo && plan.logprobs) {
    return FieldError("echo",
                      "echo with logprobs is not supported (the prompt's "
                      "logprobs: use the gRPC Score call)");
  }
  std::string suffix;
  FM_RETURN_IF_ERROR(f.String("suffix", &suffix));
  if (!suffix.empty()) {
    return FieldError("suffix", "suffix (insertion) is not supported");
  }
  return ReadPrompts(f.Take("prompt"), base, plan);
}

absl::Status ReadMessage(const Json& m, const std::string& param,
                         fm::v1::ChatMessage* out) {
  if (!m.is_object()) return WrongType(param, m, "an object");
  Json rest = Json::object();
  for (const auto& [key, value] : m.items()) {
    if (key == "role") {
      if (!value.is_string()) {
        return WrongType(param + ".role", value, "a string");
      }
      out->set_role(value.get<std::string>());
    } else if (key == "content" && value.is_string()) {
      out->set_content(value.get<std::string>());
    } else if (key == "content" && value.is_array()) {
      // Text parts are joined; any other part is refused by name.
      std::string text;
      for (size_t i = 0; i < value.size(); ++i) {
        const Json& part = value[i];
        const std::string at = absl::StrCat(param, ".content[", i, "]");
        const auto type = part.is_object() ? part.find("type") : part.end();
        if (!part.is_object() || type == part.end() || *type != "text" ||
            !part.contains("text") || !part["text"].is_string()) {
          return FieldError(at, absl::StrCat(at,
                                             " must be a {\"type\": \"text\", "
                                             "\"text\": ...} part (fmserve "
                                             "serves text only)"));
        }
        text += part["text"].get<std::string>();
      }
      out->set_content(text);
    } else if (key == "content" && !value.is_null()) {
      return WrongType(param + ".content", value,
                       "a string or an array of text parts");
    } else if (key != "content") {
      rest[key] = value;  // name, tool_calls, tool_call_id, ...
    }
  }
  if (out->role().empty()) {
    return FieldError(param, absl::StrCat(param, ".role is required"));
  }
  if (!rest.empty()) out->set_fields_json(rest.dump());
  return absl::OkStatus();
}

absl::Status ReadChat(Fields& f, OpenAiPlan& plan) {
  fm::v1::ChatRequest& chat = plan.chat;
  fm::v1::GenerateRequest* r = chat.mutable_generate();
  FM_RETURN_IF_ERROR(ReadGenerateOptions(f, plan, r));
  bool present = false;
  int32_t value = 0;
  FM_RETURN_IF_ERROR(Int32(f, "max_completion_tokens", &present, &value));
  if (present) r->set_max_tokens(value);
  FM_RETURN_IF_ERROR(f.Bool("logprobs", &plan.logprobs));
  FM_RETURN_IF_ERROR(Int32(f, "top_logprobs", &present, &value));
  if (present) {
    if (!plan.logprobs) {
      return FieldError("top_logprobs", "top_logprobs needs logprobs: true");
    }
    plan.top_logprobs = value;
    r->set_top_logprobs(value);
  }
  r->set_logprobs(plan.logprobs);
  const Json* messages = f.Take("messages");
  if (messages == nullptr) {
    return FieldError("messages", "messages is required");
  }
  if (!messages->is_array() || messages->empty()) {
    return FieldError("messages", "messages must be a non-empty array");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    FM_RETURN_IF_ERROR(ReadMessage((*messages)[i],
                                   absl::StrCat("messages[", i, "]"),
                                   chat.add_messages()));
  }
  if (const Json* tools = f.Take("tools")) {
    if (!tools->is_array()) return WrongType("tools", *tools, "an array");
    chat.set_tools_json(tools->dump());
  }
  if (const Json* choice = f.Take("tool_choice")) {
    // The template sees the tools; fmserve does not parse tool calls out
    // of the text, so it cannot force one.
    if (!choice->is_string() || (*choice != "none" && *choice != "auto")) {
      return FieldError("tool_choice",
                        "tool_choice must be \"none\" or \"auto\" (fmserve "
                        "does not force or parse tool calls)");
    }
  }
  bool parallel = false;
  FM_RETURN_IF_ERROR(f.Bool("parallel_tool_calls", &parallel));
  if (const Json* kwargs = f.Take("chat_template_kwargs")) {
    if (!kwargs->is_object()) {
      return WrongType("chat_template_kwargs", *kwargs, "an object");
    }
    chat.set_variables_json(kwargs->dump());
  }
  return absl::OkStatus();
}

absl::StatusOr<OpenAiPlan> Parse(Endpoint endpoint, absl::string_view body,
                                 absl::string_view served_model);

}  // namespace

absl::Status FieldError(absl::string_view param, absl::string_view message,
                        absl::StatusCode code) {
  absl::Status status(code, message);
  if (!param.empty()) status.SetPayload(kParamPayload, absl::Cord(param));
  return status;
}

std::string ParamOf(const absl::Status& status) {
  auto param = status.GetPayload(kParamPayload);
  return param.has_value() ? std::string(*param) : std::string();
}

absl::StatusOr<OpenAiPlan> ParseOpenAiRequest(Endpoint endpoint,
                                              absl::string_view body,
                                              absl::string_view served_model) {
  // The readers check every type before reading; this catches what a
  // check might miss, so that no body can end the handler.
  try {
    return Parse(endpoint, body, served_model);
  } catch (const std::exception& e) {
    return FieldError("", absl::StrCat("the body cannot be read: ", e.what()));
  }
}

namespace {

absl::StatusOr<OpenAiPlan> Parse(Endpoint endpoint, absl::string_view body,
                                 absl::string_view served_model) {
  if (JsonNestingDepth(body) > kMaxJsonNesting) {
    return FieldError("", absl::StrCat("the body nests deeper than ",
                                       kMaxJsonNesting, " levels"));
  }
  Json json = Json::parse(body.begin(), body.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return FieldError("", "the body is not valid JSON");
  }
  if (!json.is_object()) {
    return FieldError("", "the body must be a JSON object");
  }
  OpenAiPlan plan;
  plan.endpoint = endpoint;
  Fields f(json);
  FM_RETURN_IF_ERROR(f.String("model", &plan.model));
  if (plan.model.empty()) {
    plan.model = std::string(served_model);
  } else if (plan.model != served_model) {
    return FieldError("model",
                      absl::StrCat("model ", Json(plan.model).dump(),
                                   " is not served here (GET /v1/models "
                                   "lists ",
                                   Json(std::string(served_model)).dump(), ")"),
                      absl::StatusCode::kNotFound);
  }
  FM_RETURN_IF_ERROR(endpoint == Endpoint::kChat ? ReadChat(f, plan)
                                                 : ReadCompletion(f, plan));
  FM_RETURN_IF_ERROR(f.Finish());
  return plan;
}

}  // namespace
}  // namespace fm::gateway::openai
