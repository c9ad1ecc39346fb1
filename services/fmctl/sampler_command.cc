// `fmctl stages`, `fmctl profiles ...`, `fmctl sample` and the sampler's
// `fmctl info`: clients of
// fm-sampler.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/chain_proto_json.h"
#include "fm/v1/sampler.grpc.pb.h"
#include "services/fmctl/fmctl.h"

ABSL_DECLARE_FLAG(std::string, sampler);
ABSL_DECLARE_FLAG(std::string, logits);
ABSL_DECLARE_FLAG(std::string, chain);
ABSL_DECLARE_FLAG(std::string, profile);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, seed);
ABSL_DECLARE_FLAG(int, count);

namespace fm::fmctl {
namespace {

absl::StatusOr<std::unique_ptr<fm::v1::SamplerService::Stub>> SamplerStub() {
  auto channel =
      ChannelFor("sampler", absl::GetFlag(FLAGS_sampler), "FM_SAMPLER");
  if (!channel.ok()) return channel.status();
  return fm::v1::SamplerService::NewStub(*channel);
}

// The logits of one `sample` call, read from --logits.
absl::StatusOr<fm::v1::Logits> ReadLogitsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--logits=", path, ": cannot read"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.empty() || bytes.size() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--logits=", path, ": ", bytes.size(),
        " bytes is not a whole number of little-endian float32 values"));
  }
  const int vocab = static_cast<int>(bytes.size() / 4);
  fm::v1::Logits logits;
  logits.set_vocab_size(vocab);
  logits.mutable_f32()->mutable_values()->Resize(vocab, 0.0f);
  std::memcpy(logits.mutable_f32()->mutable_values()->mutable_data(),
              bytes.data(), bytes.size());
  return logits;
}

// Draws per Sample call: the sampler's per-call limit, and few enough that
// a call's logits stay far below gRPC's message limit at any vocabulary.
int DrawsPerCall(int max_inputs, int vocab) {
  constexpr int64_t kMaxCallBytes = 16 << 20;
  const int64_t by_bytes = kMaxCallBytes / (4 * static_cast<int64_t>(vocab));
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(max_inputs, by_bytes)));
}

}  // namespace

int RunSamplerInfo() {
  auto stub = SamplerStub();
  if (!stub.ok()) return Fail("info", stub.status());
  return PrintInfo<fm::v1::SamplerService::Stub, fm::v1::SamplerInfo>(
      **stub, NewContext(), "sampler");
}

int RunStages(const Args& args) {
  if (!args.empty()) return Usage("stages");
  auto stub = SamplerStub();
  if (!stub.ok()) return Fail("stages", stub.status());
  fm::v1::ListStagesResponse response;
  auto ctx = NewContext();
  grpc::Status status = (*stub)->ListStages(ctx.get(), {}, &response);
  if (!status.ok()) return Fail("sampler", status);
  for (const fm::v1::StageInfo& stage : response.stages()) {
    std::string traits;
    if (stage.draws_random()) traits += ", draws random numbers";
    if (!stage.keeps_top_param().empty()) {
      traits += ", keeps the top " + stage.keeps_top_param() + " logits";
    }
    if (stage.selects_top()) traits += ", selects the top logit";
    std::printf("%s (%s%s): %s\n", stage.name().c_str(), stage.kind().c_str(),
                traits.c_str(), stage.description().c_str());
    for (const fm::v1::StageParam& p : stage.params()) {
      std::printf("    %s: %s in %s, default %s. %s\n", p.name().c_str(),
                  p.type().c_str(), p.range().c_str(),
                  p.default_json().c_str(), p.description().c_str());
    }
  }
  return 0;
}

int RunProfiles(const Args& args) {
  if (args.empty()) return Usage("profiles");
  auto stub = SamplerStub();
  if (!stub.ok()) return Fail("profiles", stub.status());
  auto ctx = NewContext();
  const std::string& verb = args[0];
  if (verb == "list" && args.size() == 1) {
    fm::v1::ListProfilesResponse response;
    grpc::Status status = (*stub)->ListProfiles(ctx.get(), {}, &response);
    if (!status.ok()) return Fail("sampler", status);
    for (const fm::v1::Profile& p : response.profiles()) {
      std::printf("%s\t%s\n", p.name().c_str(), ChainToJson(p.chain()).c_str());
    }
    return 0;
  }
  if (verb == "get" && args.size() == 2) {
    fm::v1::GetProfileRequest request;
    request.set_name(args[1]);
    fm::v1::Profile response;
    grpc::Status status = (*stub)->GetProfile(ctx.get(), request, &response);
    if (!status.ok()) return Fail("sampler", status);
    std::printf("%s\n", ChainToJson(response.chain()).c_str());
    return 0;
  }
  if (verb == "put" && args.size() == 3) {
    auto chain = ChainFromJson(args[2]);
    if (!chain.ok()) return Fail("profiles put", chain.status());
    fm::v1::PutProfileRequest request;
    request.mutable_profile()->set_name(args[1]);
    *request.mutable_profile()->mutable_chain() = *chain;
    fm::v1::Profile response;
    grpc::Status status = (*stub)->PutProfile(ctx.get(), request, &response);
    if (!status.ok()) return Fail("sampler", status);
    std::printf("%s\n", ChainToJson(response.chain()).c_str());
    return 0;
  }
  if (verb == "delete" && args.size() == 2) {
    fm::v1::DeleteProfileRequest request;
    request.set_name(args[1]);
    fm::v1::DeleteProfileResponse response;
    grpc::Status status = (*stub)->DeleteProfile(ctx.get(), request, &response);
    if (!status.ok()) return Fail("sampler", status);
    return 0;
  }
  return Usage("profiles");
}

int RunSample(const Args& args) {
  const std::string path = absl::GetFlag(FLAGS_logits);
  const std::string chain_json = absl::GetFlag(FLAGS_chain);
  const std::string profile = absl::GetFlag(FLAGS_profile);
  const int count = absl::GetFlag(FLAGS_count);
  if (!args.empty() || path.empty() || chain_json.empty() == profile.empty()) {
    return Usage("sample");
  }
  absl::StatusOr<fm::v1::Logits> logits = ReadLogitsFile(path);
  if (!logits.ok()) {
    std::fprintf(stderr, "fmctl: %s\n",
                 std::string(logits.status().message()).c_str());
    return 2;
  }
  fm::v1::SampleRequest request;
  if (!profile.empty()) {
    request.mutable_sampling()->set_profile(profile);
  } else {
    auto chain = ChainFromJson(chain_json);
    if (!chain.ok()) return Fail("sample", chain.status());
    *request.mutable_sampling()->mutable_chain() = *chain;
  }
  const std::optional<uint64_t> seed = absl::GetFlag(FLAGS_seed);
  if (seed.has_value()) request.set_seed(*seed);
  auto stub = SamplerStub();
  if (!stub.ok()) return Fail("sample", stub.status());
  fm::v1::SamplerInfo info;
  grpc::Status status = (*stub)->Info(NewContext().get(), {}, &info);
  if (!status.ok()) return Fail("sampler", status);
  const int per_call = DrawsPerCall(info.max_inputs(), logits->vocab_size());
  // K draws of sequence 0 at steps 0..K-1, no history between them: the
  // RNG is keyed by (seed, sequence, step), so calls of `per_call` steps
  // each give exactly the draws of one call of K.
  for (int first = 0; first < count; first += per_call) {
    request.clear_inputs();
    for (int step = first; step < std::min(count, first + per_call); ++step) {
      fm::v1::SampleInput* input = request.add_inputs();
      input->set_sequence_index(0);
      input->set_step(step);
      *input->mutable_logits() = *logits;
    }
    fm::v1::SampleResponse response;
    status = (*stub)->Sample(NewContext().get(), request, &response);
    if (!status.ok()) return Fail("sampler", status);
    if (!request.has_seed()) {
      // The service chose the seed: keep it for the next calls, and say it
      // so that the draws can be reproduced.
      request.set_seed(response.seed());
      std::fprintf(stderr, "seed: %llu\n",
                   static_cast<unsigned long long>(response.seed()));
    }
    for (const fm::v1::SampledToken& t : response.tokens()) {
      std::printf("%d\n", t.id());
    }
  }
  return 0;
}

}  // namespace fm::fmctl
