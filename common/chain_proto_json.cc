// Conversion through google.protobuf.ListValue, protobuf's own JSON model.
#include "common/chain_proto_json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace fm {

absl::StatusOr<fm::v1::SamplerChain> ChainFromJson(absl::string_view json) {
  google::protobuf::ListValue list;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &list);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain is not a JSON array of objects: ",
                     parsed.message().as_string()));
  }
  fm::v1::SamplerChain chain;
  for (int i = 0; i < list.values_size(); ++i) {
    const google::protobuf::Value& v = list.values(i);
    if (!v.has_struct_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("chain[", i, "] is not an object"));
    }
    fm::v1::StageSpec* stage = chain.add_stages();
    *stage->mutable_params() = v.struct_value();
    auto it = stage->mutable_params()->mutable_fields()->find("stage");
    if (it == stage->mutable_params()->mutable_fields()->end() ||
        !it->second.has_string_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("chain[", i, "] has no string \"stage\""));
    }
    stage->set_stage(it->second.string_value());
    stage->mutable_params()->mutable_fields()->erase(it);
  }
  return chain;
}

std::string ChainToJson(const fm::v1::SamplerChain& chain) {
  google::protobuf::ListValue list;
  for (const fm::v1::StageSpec& stage : chain.stages()) {
    google::protobuf::Struct* s = list.add_values()->mutable_struct_value();
    (*s->mutable_fields())["stage"].set_string_value(stage.stage());
    for (const auto& [key, value] : stage.params().fields()) {
      (*s->mutable_fields())[key] = value;
    }
  }
  std::string json;
  google::protobuf::util::MessageToJsonString(list, &json);
  return json;
}

}  // namespace fm
