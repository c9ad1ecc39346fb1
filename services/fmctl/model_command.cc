// `fmctl info` and `fmctl forward`: clients of fm-model.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fm/v1/model.grpc.pb.h"
#include "services/fmctl/fmctl.h"

ABSL_DECLARE_FLAG(std::string, model);
ABSL_DECLARE_FLAG(std::string, ids);
ABSL_DECLARE_FLAG(int, top);

namespace fm::fmctl {

int RunModelInfo() {
  auto channel = ChannelFor("model", absl::GetFlag(FLAGS_model), "FM_MODEL");
  if (!channel.ok()) return Fail("info", channel.status());
  auto stub = fm::v1::ModelService::NewStub(*channel);
  return PrintInfo<fm::v1::ModelService::Stub, fm::v1::ModelInfo>(
      *stub, NewContext(), "model");
}

int RunForward(const Args& args) {
  if (!args.empty()) return Usage("forward");
  fm::v1::SessionRequest request;
  fm::v1::AppendOp* append = request.add_ops()->mutable_append();
  append->set_sequence_id(0);
  for (absl::string_view part : absl::StrSplit(
           absl::GetFlag(FLAGS_ids), absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id)) {
      std::fprintf(stderr, "fmctl: --ids: '%s' is not a token id\n",
                   std::string(part).c_str());
      return 2;
    }
    append->add_token_ids(id);
  }
  if (append->token_ids_size() == 0) return Usage("forward");
  const int top = absl::GetFlag(FLAGS_top);
  if (top <= 0) {
    std::fprintf(stderr, "fmctl: --top must be > 0\n");
    return 2;
  }
  // The server selects the top K (highest first, ties by lower id).
  request.mutable_logits_format()->set_top_k(top);
  auto channel = ChannelFor("model", absl::GetFlag(FLAGS_model), "FM_MODEL");
  if (!channel.ok()) return Fail("forward", channel.status());
  auto stub = fm::v1::ModelService::NewStub(*channel);
  auto ctx = NewContext();
  auto stream = stub->Session(ctx.get());
  fm::v1::SessionResponse response;
  if (!stream->Write(request) || !stream->Read(&response)) {
    return Fail("model", stream->Finish());
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (response.has_error()) {
    std::fprintf(stderr, "fmctl: model: %s\n",
                 response.error().message().c_str());
    return 1;
  }
  if (!status.ok()) return Fail("model", status);
  if (response.results_size() != 1 || response.results(0).logits_size() != 1) {
    std::fprintf(stderr, "fmctl: model: malformed response\n");
    return 1;
  }
  const fm::v1::SparseLogits& head = response.results(0).logits(0).top();
  nlohmann::json out;
  out["logits"] = nlohmann::json::array();
  for (int i = 0; i < head.ids_size(); ++i) {
    out["logits"].push_back({{"id", head.ids(i)}, {"logit", head.values(i)}});
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace fm::fmctl
