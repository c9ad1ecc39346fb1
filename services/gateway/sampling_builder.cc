// Shorthand -> chain: logit_bias, penalties, top_k, top_p, min_p, temperature,
// then dist (or greedy when the temperature is 0).
#include "services/gateway/sampling_builder.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fm::gateway {
namespace {

fm::v1::StageSpec* AddStage(fm::v1::SamplerChain* chain,
                            const std::string& name) {
  fm::v1::StageSpec* stage = chain->add_stages();
  stage->set_stage(name);
  return stage;
}

void SetParam(fm::v1::StageSpec* stage, const std::string& key, double v) {
  (*stage->mutable_params()->mutable_fields())[key].set_number_value(v);
}

absl::Status CheckRange(const char* field, double v, double lo, double hi,
                        bool lo_open, const char* range) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "shorthand.", field, " = ", v, " must be finite and in ", range));
}

constexpr int kMaxLogitBiasIds = 1024;

// The logit_bias stage, its pairs in id order (a map's order is not
// defined; equal requests make equal chains).
absl::Status AddLogitBias(const fm::v1::SamplingShorthand& s,
                          fm::v1::SamplerChain* chain) {
  if (s.logit_bias_size() > kMaxLogitBiasIds) {
    return absl::InvalidArgumentError(
        absl::StrCat("shorthand.logit_bias has ", s.logit_bias_size(),
                     " ids; at most ", kMaxLogitBiasIds));
  }
  std::vector<std::pair<int32_t, float>> biases(s.logit_bias().begin(),
                                                s.logit_bias().end());
  std::sort(biases.begin(), biases.end());
  google::protobuf::ListValue pairs;
  for (const auto& [id, bias] : biases) {
    if (id < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shorthand.logit_bias has token id ", id, "; ids are >= 0"));
    }
    if (!std::isfinite(bias) || bias < -100 || bias > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("shorthand.logit_bias[", id, "] = ", bias,
                       " must be finite and in [-100, 100]"));
    }
    google::protobuf::ListValue* pair =
        pairs.add_values()->mutable_list_value();
    pair->add_values()->set_number_value(id);
    pair->add_values()->set_number_value(bias);
  }
  fm::v1::StageSpec* stage = AddStage(chain, "logit_bias");
  *(*stage->mutable_params()->mutable_fields())["bias"].mutable_list_value() =
      std::move(pairs);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<fm::v1::SamplingSpec> BuildSamplingSpec(
    const fm::v1::GenerateRequest& request) {
  if (request.has_sampling() && request.sampling().source_case() !=
                                    fm::v1::SamplingSpec::SOURCE_NOT_SET) {
    return request.sampling();
  }
  fm::v1::SamplingSpec spec;
  const fm::v1::SamplingShorthand& s = request.shorthand();
  const bool any = s.has_temperature() || s.has_top_k() || s.has_top_p() ||
                   s.has_min_p() || s.has_repetition_penalty() ||
                   s.has_presence_penalty() || s.has_frequency_penalty() ||
                   s.logit_bias_size() > 0;
  if (!any) {
    spec.set_profile("default");
    return spec;
  }
  const double temperature = s.has_temperature() ? s.temperature() : 0.8;
  const int top_k = s.has_top_k() ? s.top_k() : 40;
  const double top_p = s.has_top_p() ? s.top_p() : 0.95;
  const double min_p = s.has_min_p() ? s.min_p() : 0.05;
  const double rep = s.has_repetition_penalty() ? s.repetition_penalty() : 1.0;
  const double presence = s.has_presence_penalty() ? s.presence_penalty() : 0;
  const double frequency =
      s.has_frequency_penalty() ? s.frequency_penalty() : 0;
  absl::Status st;
  if (!(st = CheckRange("temperature", temperature, 0, 2, false, "[0, 2]"))
           .ok() ||
      !(st = CheckRange("top_p", top_p, 0, 1, true, "(0, 1]")).ok() ||
      !(st = CheckRange("min_p", min_p, 0, 1, false, "[0, 1]")).ok() ||
      !(st = CheckRange("repetition_penalty", rep, 0, 10, true, "(0, 10]"))
           .ok() ||
      !(st = CheckRange("presence_penalty", presence, -2, 2, false, "[-2, 2]"))
           .ok() ||
      !(st =
            CheckRange("frequency_penalty", frequency, -2, 2, false, "[-2, 2]"))
           .ok()) {
    return st;
  }
  if (top_k < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("shorthand.top_k = ", top_k, " must be >= 0 (0 = off)"));
  }
  fm::v1::SamplerChain* chain = spec.mutable_chain();
  if (s.logit_bias_size() > 0) FM_RETURN_IF_ERROR(AddLogitBias(s, chain));
  if (rep != 1.0)
    SetParam(AddStage(chain, "repetition_penalty"), "penalty", rep);
  if (presence != 0) {
    SetParam(AddStage(chain, "presence_penalty"), "penalty", presence);
  }
  if (frequency != 0) {
    SetParam(AddStage(chain, "frequency_penalty"), "penalty", frequency);
  }
  if (temperature == 0) {  // greedy: filters cannot change the argmax
    AddStage(chain, "greedy");
    return spec;
  }
  if (top_k > 0) SetParam(AddStage(chain, "top_k"), "k", top_k);
  if (top_p < 1) SetParam(AddStage(chain, "top_p"), "p", top_p);
  if (min_p > 0) SetParam(AddStage(chain, "min_p"), "p", min_p);
  SetParam(AddStage(chain, "temperature"), "temperature", temperature);
  AddStage(chain, "dist");
  return spec;
}

}  // namespace fm::gateway
