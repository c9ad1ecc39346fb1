// The catalogue of sampler stages: name, kind, documented parameters (type,
// range, default, meaning) and a factory that validates them at build time.
#ifndef FM_SERVICES_SAMPLER_STAGE_REGISTRY_H_
#define FM_SERVICES_SAMPLER_STAGE_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/sampler/chain_spec.h"
#include "services/sampler/sampler_stage.h"

namespace fm::sampler {

enum class StageKind { kFilter, kSelector };
enum class ParamType {
  kFloat,
  kInt,
  kBool,
  kIdList,
  kIdBiasMap,
  kString,
  kStringList
};

// "filter" / "selector"; "float", "int", "bool", "id_list", "id_bias_map".
absl::string_view StageKindName(StageKind kind);
absl::string_view ParamTypeName(ParamType type);

// Most ids an id list or bias map may hold.
constexpr size_t kMaxIdListSize = 262144;
// Longest string parameter (a regex, a JSON schema, a grammar), and most
// entries of a string list.
constexpr size_t kMaxStringParamBytes = 1 << 20;
constexpr size_t kMaxStringListSize = 4096;

struct ParamInfo {
  std::string name;
  ParamType type = ParamType::kFloat;
  // Allowed range of the value (kFloat, kInt) or of each bias (kIdBiasMap,
  // where -inf is also allowed and bans the token). Ids must be in
  // [0, 2^31 - 1]. Unused for kBool.
  double min = 0.0;
  double max = 0.0;
  bool min_exclusive = false;
  bool max_exclusive = false;
  ParamValue default_value;
  std::string meaning;
  // A spec that leaves it out is refused (there is no sensible default:
  // a constraint's pattern).
  bool required = false;

  // The range as text, e.g. "(0, 1]" or "[1, 1048576]".
  std::string RangeText() const;
};

// A stage's parameters after validation, every one present (defaults
// filled in) and of its declared type. Asking for an undeclared name is a
// programming error and yields a zero / empty value.
class StageParams {
 public:
  double Float(absl::string_view name) const;
  int64_t Int(absl::string_view name) const;
  bool Bool(absl::string_view name) const;
  const std::string& String(absl::string_view name) const;
  const StringList& Strings(absl::string_view name) const;
  const IdList& Ids(absl::string_view name) const;
  const IdBiasList& Biases(absl::string_view name) const;

  void Set(const std::string& name, ParamValue value) {
    values_[name] = std::move(value);
  }

 private:
  const ParamValue* Find(absl::string_view name) const;
  std::map<std::string, ParamValue, std::less<>> values_;
};

using StageFactory =
    std::function<std::unique_ptr<SamplerStage>(const StageParams& params)>;
// A factory that can refuse parameters beyond their type and range (a
// regex that must compile): INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming
// what is wrong. The work that checks them builds the stage, done once.
using FallibleStageFactory =
    std::function<absl::StatusOr<std::unique_ptr<SamplerStage>>(
        const StageParams& params)>;

struct StageInfo {
  StageInfo() = default;
  // The declaration every stage file makes; the traits below default to
  // "none" and are set by the stages that have them.
  StageInfo(std::string name, std::string description, StageKind kind,
            std::vector<ParamInfo> params, StageFactory factory)
      : name(std::move(name)),
        description(std::move(description)),
        kind(kind),
        params(std::move(params)),
        factory(std::move(factory)) {}

  std::string name;
  std::string description;
  StageKind kind = StageKind::kFilter;
  std::vector<ParamInfo> params;
  // Builds the stage from validated parameters; never fails.
  StageFactory factory;
  // Used instead of `factory` when set.
  FallibleStageFactory fallible_factory;
  // Parameters that make a working example (documentation, and what the
  // generic tests build every stage with); empty when the defaults do.
  std::map<std::string, ParamValue> example;
  // What a client may rely on without knowing the stage (ListStages reports
  // them; the gateway uses them instead of a list of stage names, so a new
  // stage declares its own):
  // The stage uses the request's random stream: its output depends on the
  // seed, so a chain with it is not reproducible (nor cacheable) without
  // one. A test checks every stage that does not declare it against two
  // seeds.
  bool draws_random = false;
  // When set, the stage keeps only the N highest-logit candidates, N being
  // this (integer) parameter, 0 meaning off: as the first stage of a chain
  // the sampler needs only the top N logits, not the whole vocabulary.
  std::string keeps_top_param;
  // The stage picks the highest-logit candidate: a chain made of it alone
  // needs only the top logit.
  bool selects_top = false;
  // The stage keeps state across steps that Accept()ing the token history
  // does not rebuild (mirostat's mu), so a sequence resumed in a new
  // session with its history does not continue exactly.
  bool keeps_session_state = false;
  // The stage needs the vocabulary's token texts (a constraint): a session
  // with it starts only on a sampler that has one (--tokenizer).
  bool needs_vocabulary = false;
  // The stage bans every token outside a set it knows before the step and
  // reports it (SamplerStage::AllowedNext).
  bool reports_allowed = false;
};

// Every known stage, in a stable order. Built once; never null.
const std::vector<StageInfo>& AllStages();

// The stage called `name`, or nullptr.
const StageInfo* FindStage(absl::string_view name);

// Checks `spec` against its stage's declaration: NOT_FOUND for an unknown
// stage; INVALID_ARGUMENT for an unknown parameter, a wrong type or a value
// out of range, naming the stage, the parameter, the value and the range.
absl::StatusOr<StageParams> ValidateStage(const StageSpec& spec);

// ValidateStage, then the factory (errors of a fallible one name the
// stage).
absl::StatusOr<std::unique_ptr<SamplerStage>> BuildStage(const StageSpec& spec);

// Helpers for stage files declaring their parameters.
ParamInfo FloatParam(std::string name, double min, double max,
                     double default_value, std::string meaning,
                     bool min_exclusive = false, bool max_exclusive = false);
ParamInfo IntParam(std::string name, int64_t min, int64_t max,
                   int64_t default_value, std::string meaning);
ParamInfo BoolParam(std::string name, bool default_value, std::string meaning);
ParamInfo IdListParam(std::string name, std::string meaning);
ParamInfo IdBiasMapParam(std::string name, double min_bias, double max_bias,
                         std::string meaning);
// A required string / list of strings (no default).
ParamInfo RequiredStringParam(std::string name, std::string meaning);
ParamInfo RequiredStringListParam(std::string name, std::string meaning);

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_STAGE_REGISTRY_H_
