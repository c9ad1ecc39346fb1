// The stage catalogue and the generic parameter validation behind every
// factory; a new stage is one file plus one line in FM_SAMPLER_STAGES.
#include "services/sampler/stage_registry.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fm::sampler {

// One line per stage. Each NameStageInfo() is defined in the stage's file.
// clang-format off
#define FM_SAMPLER_STAGES(X) \
  X(Greedy) \
  X(Dist) \
  X(MirostatV2) \
  X(Temperature) \
  X(TopK) \
  X(TopP) \
  X(MinP) \
  X(TypicalP) \
  X(TopNSigma) \
  X(Xtc) \
  X(RepetitionPenalty) \
  X(PresencePenalty) \
  X(FrequencyPenalty) \
  X(Dry) \
  X(LogitBias) \
  X(Allow) \
  X(Ban) \
  X(Regex) \
  X(Choice) \
  X(Json) \
  X(JsonSchema) \
  X(Grammar)
// clang-format on

#define FM_DECLARE_STAGE_INFO(Name) StageInfo Name##StageInfo();
FM_SAMPLER_STAGES(FM_DECLARE_STAGE_INFO)
#undef FM_DECLARE_STAGE_INFO

namespace {

constexpr int64_t kMaxTokenId = std::numeric_limits<int32_t>::max();

std::string FormatNumber(double value) {
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  return absl::StrFormat("%.9g", value);
}

std::string DescribeValue(const ParamValue& value) {
  struct Visitor {
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(double v) const { return FormatNumber(v); }
    std::string operator()(const IdList& v) const {
      return absl::StrCat("a list of ", v.size(), " ids");
    }
    std::string operator()(const IdBiasList& v) const {
      return absl::StrCat("a map of ", v.size(), " ids");
    }
    std::string operator()(const std::string& v) const {
      return absl::StrCat("a string of ", v.size(), " bytes");
    }
    std::string operator()(const StringList& v) const {
      return absl::StrCat("a list of ", v.size(), " strings");
    }
  };
  return std::visit(Visitor{}, value);
}

absl::Status ParamError(const StageSpec& spec, const ParamInfo& info,
                        absl::string_view value, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("stage '", spec.stage,
                                                 "' parameter '", info.name,
                                                 "' = ", value, ": ", problem));
}

bool InRange(const ParamInfo& info, double v) {
  if (std::isnan(v)) return false;
  if (info.min_exclusive ? !(v > info.min) : !(v >= info.min)) return false;
  if (info.max_exclusive ? !(v < info.max) : !(v <= info.max)) return false;
  return true;
}

absl::Status CheckId(const StageSpec& spec, const ParamInfo& info, int64_t id) {
  if (id < 0 || id > kMaxTokenId) {
    return ParamError(
        spec, info, absl::StrCat("id ", id),
        absl::StrCat("token ids must be in [0, ", kMaxTokenId, "]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ParamValue> CheckParam(const StageSpec& spec,
                                      const ParamInfo& info,
                                      const ParamValue& value) {
  const std::string shown = DescribeValue(value);
  const std::string range = absl::StrCat("allowed range is ", info.RangeText());
  switch (info.type) {
    case ParamType::kFloat: {
      double v;
      if (const auto* d = std::get_if<double>(&value)) {
        v = *d;
      } else if (const auto* i = std::get_if<int64_t>(&value)) {
        v = static_cast<double>(*i);
      } else if (const auto* t = std::get_if<std::string>(&value);
                 t != nullptr && (*t == "inf" || *t == "-inf")) {
        // How ChainToJson writes infinities.
        v = *t == "inf" ? std::numeric_limits<double>::infinity()
                        : -std::numeric_limits<double>::infinity();
      } else {
        return ParamError(spec, info, shown, "must be a number");
      }
      if (!InRange(info, v)) return ParamError(spec, info, shown, range);
      return ParamValue(v);
    }
    case ParamType::kInt: {
      int64_t v;
      if (const auto* i = std::get_if<int64_t>(&value)) {
        v = *i;
      } else if (const auto* d = std::get_if<double>(&value)) {
        if (!(std::abs(*d) < 9.0e15) || std::floor(*d) != *d) {
          return ParamError(spec, info, shown, "must be an integer");
        }
        v = static_cast<int64_t>(*d);
      } else {
        return ParamError(spec, info, shown, "must be an integer");
      }
      if (!InRange(info, static_cast<double>(v))) {
        return ParamError(spec, info, shown, range);
      }
      return ParamValue(v);
    }
    case ParamType::kBool:
      if (!std::holds_alternative<bool>(value)) {
        return ParamError(spec, info, shown, "must be true or false");
      }
      return value;
    case ParamType::kIdList: {
      if (const auto* m = std::get_if<IdBiasList>(&value); m && m->empty()) {
        return ParamValue(IdList());  // `{}` in JSON: an empty list.
      }
      const auto* ids = std::get_if<IdList>(&value);
      if (ids == nullptr) {
        return ParamError(spec, info, shown, "must be a list of token ids");
      }
      if (ids->size() > kMaxIdListSize) {
        return ParamError(spec, info, shown,
                          absl::StrCat("at most ", kMaxIdListSize, " ids"));
      }
      for (int64_t id : *ids) {
        if (absl::Status s = CheckId(spec, info, id); !s.ok()) return s;
      }
      return value;
    }
    case ParamType::kIdBiasMap: {
      if (const auto* l = std::get_if<IdList>(&value); l && l->empty()) {
        return ParamValue(IdBiasList());  // `[]` in JSON: an empty map.
      }
      const auto* biases = std::get_if<IdBiasList>(&value);
      if (biases == nullptr) {
        return ParamError(spec, info, shown,
                          "must map token ids to bias values");
      }
      if (biases->size() > kMaxIdListSize) {
        return ParamError(spec, info, shown,
                          absl::StrCat("at most ", kMaxIdListSize, " ids"));
      }
      for (const auto& [id, bias] : *biases) {
        if (absl::Status s = CheckId(spec, info, id); !s.ok()) return s;
        const bool ban = std::isinf(bias) && bias < 0;
        if (!ban && !InRange(info, bias)) {
          return ParamError(
              spec, info, absl::StrCat("{", id, ": ", FormatNumber(bias), "}"),
              absl::StrCat("each bias must be in ", info.RangeText(),
                           " or -inf"));
        }
      }
      return value;
    }
    case ParamType::kString: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr)
        return ParamError(spec, info, shown, "must be a string");
      if (text->size() > kMaxStringParamBytes) {
        return ParamError(
            spec, info, shown,
            absl::StrCat("at most ", kMaxStringParamBytes, " bytes"));
      }
      return value;
    }
    case ParamType::kStringList: {
      if (const auto* l = std::get_if<IdList>(&value); l && l->empty()) {
        return ParamValue(StringList());  // `[]` in JSON: an empty list.
      }
      const auto* list = std::get_if<StringList>(&value);
      if (list == nullptr) {
        return ParamError(spec, info, shown, "must be a list of strings");
      }
      if (list->size() > kMaxStringListSize) {
        return ParamError(
            spec, info, shown,
            absl::StrCat("at most ", kMaxStringListSize, " strings"));
      }
      size_t total = 0;
      for (const std::string& t : *list) total += t.size();
      if (total > kMaxStringParamBytes) {
        return ParamError(
            spec, info, shown,
            absl::StrCat("at most ", kMaxStringParamBytes, " bytes in all"));
      }
      return value;
    }
  }
  return absl::InternalError("unknown parameter type");
}

}  // namespace

absl::string_view StageKindName(StageKind kind) {
  return kind == StageKind::kSelector ? "selector" : "filter";
}

absl::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kFloat:
      return "float";
    case ParamType::kInt:
      return "int";
    case ParamType::kBool:
      return "bool";
    case ParamType::kIdList:
      return "id_list";
    case ParamType::kIdBiasMap:
      return "id_bias_map";
    case ParamType::kString:
      return "string";
    case ParamType::kStringList:
      return "string_list";
  }
  return "unknown";
}

std::string ParamInfo::RangeText() const {
  switch (type) {
    case ParamType::kBool:
      return "{false, true}";
    case ParamType::kIdList:
      return absl::StrCat("ids in [0, ", kMaxTokenId, "]");
    case ParamType::kString:
      return absl::StrCat("up to ", kMaxStringParamBytes, " bytes");
    case ParamType::kStringList:
      return absl::StrCat("up to ", kMaxStringListSize, " strings");
    case ParamType::kFloat:
    case ParamType::kInt:
    case ParamType::kIdBiasMap:
      break;
  }
  return absl::StrCat(min_exclusive ? "(" : "[", FormatNumber(min), ", ",
                      FormatNumber(max), max_exclusive ? ")" : "]");
}

const ParamValue* StageParams::Find(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

double StageParams::Float(absl::string_view name) const {
  const ParamValue* v = Find(name);
  if (v == nullptr) return 0.0;
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return 0.0;
}

int64_t StageParams::Int(absl::string_view name) const {
  const ParamValue* v = Find(name);
  if (v == nullptr) return 0;
  if (const auto* i = std::get_if<int64_t>(v)) return *i;
  return 0;
}

bool StageParams::Bool(absl::string_view name) const {
  const ParamValue* v = Find(name);
  if (v == nullptr) return false;
  if (const auto* b = std::get_if<bool>(v)) return *b;
  return false;
}

const IdList& StageParams::Ids(absl::string_view name) const {
  static const auto* kEmpty = new IdList();
  const ParamValue* v = Find(name);
  if (v == nullptr) return *kEmpty;
  if (const auto* ids = std::get_if<IdList>(v)) return *ids;
  return *kEmpty;
}

const std::string& StageParams::String(absl::string_view name) const {
  static const auto* kEmpty = new std::string();
  const ParamValue* v = Find(name);
  if (v == nullptr) return *kEmpty;
  if (const auto* text = std::get_if<std::string>(v)) return *text;
  return *kEmpty;
}

const StringList& StageParams::Strings(absl::string_view name) const {
  static const auto* kEmpty = new StringList();
  const ParamValue* v = Find(name);
  if (v == nullptr) return *kEmpty;
  if (const auto* list = std::get_if<StringList>(v)) return *list;
  return *kEmpty;
}

const IdBiasList& StageParams::Biases(absl::string_view name) const {
  static const auto* kEmpty = new IdBiasList();
  const ParamValue* v = Find(name);
  if (v == nullptr) return *kEmpty;
  if (const auto* biases = std::get_if<IdBiasList>(v)) return *biases;
  return *kEmpty;
}

const std::vector<StageInfo>& AllStages() {
#define FM_LIST_STAGE_INFO(Name) Name##StageInfo(),
  static const auto* stages =
      new std::vector<StageInfo>{FM_SAMPLER_STAGES(FM_LIST_STAGE_INFO)};
#undef FM_LIST_STAGE_INFO
  return *stages;
}

const StageInfo* FindStage(absl::string_view name) {
  for (const StageInfo& info : AllStages()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

absl::StatusOr<StageParams> ValidateStage(const StageSpec& spec) {
  const StageInfo* info = FindStage(spec.stage);
  if (info == nullptr) {
    std::string known;
    for (const StageInfo& s : AllStages()) {
      absl::StrAppend(&known, known.empty() ? "" : ", ", s.name);
    }
    return absl::NotFoundError(absl::StrCat(
        "unknown sampler stage '", spec.stage, "' (known: ", known, ")"));
  }
  for (const auto& [name, value] : spec.params) {
    bool declared = false;
    for (const ParamInfo& p : info->params) declared |= p.name == name;
    if (!declared) {
      std::string known;
      for (const ParamInfo& p : info->params) {
        absl::StrAppend(&known, known.empty() ? "" : ", ", p.name);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("stage '", spec.stage, "' has no parameter '", name,
                       "' (parameters: ", known.empty() ? "none" : known, ")"));
    }
  }
  StageParams params;
  for (const ParamInfo& p : info->params) {
    auto it = spec.params.find(p.name);
    if (it == spec.params.end()) {
      if (p.required) {
        return absl::InvalidArgumentError(
            absl::StrCat("stage '", spec.stage, "' needs parameter '", p.name,
                         "' (", p.meaning, ")"));
      }
      params.Set(p.name, p.default_value);
      continue;
    }
    absl::StatusOr<ParamValue> checked = CheckParam(spec, p, it->second);
    if (!checked.ok()) return checked.status();
    params.Set(p.name, *std::move(checked));
  }
  return params;
}

absl::StatusOr<std::unique_ptr<SamplerStage>> BuildStage(
    const StageSpec& spec) {
  absl::StatusOr<StageParams> params = ValidateStage(spec);
  if (!params.ok()) return params.status();
  const StageInfo& info = *FindStage(spec.stage);
  if (!info.fallible_factory) return info.factory(*params);
  auto stage = info.fallible_factory(*params);
  if (!stage.ok()) {
    return absl::Status(
        stage.status().code(),
        absl::StrCat("stage '", spec.stage, "': ", stage.status().message()));
  }
  return stage;
}

ParamInfo FloatParam(std::string name, double min, double max,
                     double default_value, std::string meaning,
                     bool min_exclusive, bool max_exclusive) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kFloat;
  p.min = min;
  p.max = max;
  p.min_exclusive = min_exclusive;
  p.max_exclusive = max_exclusive;
  p.default_value = default_value;
  p.meaning = std::move(meaning);
  return p;
}

ParamInfo IntParam(std::string name, int64_t min, int64_t max,
                   int64_t default_value, std::string meaning) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kInt;
  p.min = static_cast<double>(min);
  p.max = static_cast<double>(max);
  p.default_value = default_value;
  p.meaning = std::move(meaning);
  return p;
}

ParamInfo BoolParam(std::string name, bool default_value, std::string meaning) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kBool;
  p.default_value = default_value;
  p.meaning = std::move(meaning);
  return p;
}

ParamInfo IdListParam(std::string name, std::string meaning) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kIdList;
  p.min = 0;
  p.max = static_cast<double>(kMaxTokenId);
  p.default_value = IdList();
  p.meaning = std::move(meaning);
  return p;
}

ParamInfo IdBiasMapParam(std::string name, double min_bias, double max_bias,
                         std::string meaning) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kIdBiasMap;
  p.min = min_bias;
  p.max = max_bias;
  p.default_value = IdBiasList();
  p.meaning = std::move(meaning);
  return p;
}

ParamInfo RequiredStringParam(std::string name, std::string meaning) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kString;
  p.default_value = std::string();
  p.meaning = std::move(meaning);
  p.required = true;
  return p;
}

ParamInfo RequiredStringListParam(std::string name, std::string meaning) {
  ParamInfo p;
  p.name = std::move(name);
  p.type = ParamType::kStringList;
  p.default_value = StringList();
  p.meaning = std::move(meaning);
  p.required = true;
  return p;
}

}  // namespace fm::sampler
