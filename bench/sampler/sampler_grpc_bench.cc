// sampler_grpc_bench: microseconds per sampled token through fm-sampler
// over loopback (unary Sample and a Session step), default chain, dense
// f32 logits at vocab 32,000 and 128,256. Starts its own fm-sampler from
// FM_BIN_DIR (default build/bin). Prints a Markdown table.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/channel_factory.h"
#include "fm/v1/sampler.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace {

fm::v1::Logits RandomLogits(int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  fm::v1::Logits logits;
  logits.set_vocab_size(vocab);
  auto* values = logits.mutable_f32()->mutable_values();
  values->Resize(vocab, 0.0f);
  for (int i = 0; i < vocab; ++i) values->Set(i, normal(rng));
  return logits;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  fm::testing::ServiceProcess sampler("fm-sampler", {"--threads=1"});
  if (!sampler.WaitForServing()) {
    std::fprintf(stderr, "fm-sampler did not start\n%s", sampler.log().c_str());
    return 1;
  }
  auto channel = fm::MakeChannel(sampler.address());
  auto stub = fm::v1::SamplerService::NewStub(*channel);
  constexpr int kCalls = 300;
  std::printf("| vocab | unary Sample µs (median) | session step µs (median) |\n");
  std::printf("|---:|---:|---:|\n");
  for (int vocab : {1000, 32000, 128256}) {
    const fm::v1::Logits logits = RandomLogits(vocab, 7);
    std::vector<double> unary;
    for (int i = 0; i < kCalls; ++i) {
      fm::v1::SampleRequest r;
      r.mutable_sampling()->set_profile("default");
      r.set_seed(1);
      fm::v1::SampleInput* in = r.add_inputs();
      in->set_step(i);
      *in->mutable_logits() = logits;
      fm::v1::SampleResponse out;
      grpc::ClientContext ctx;
      ctx.set_deadline(fm::DeadlineAfter(absl::Seconds(10)));
      const absl::Time t0 = absl::Now();
      grpc::Status st = stub->Sample(&ctx, r, &out);
      if (!st.ok()) {
        std::fprintf(stderr, "Sample: %s\n", st.error_message().c_str());
        return 1;
      }
      unary.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(fm::DeadlineAfter(absl::Minutes(2)));
    auto stream = stub->Session(&ctx);
    fm::v1::SamplerSessionRequest start;
    start.mutable_start()->mutable_sampling()->set_profile("default");
    start.mutable_start()->set_vocab_size(vocab);
    start.mutable_start()->set_seed(1);
    fm::v1::SamplerSessionResponse resp;
    if (!stream->Write(start) || !stream->Read(&resp)) return 1;
    std::vector<double> session;
    fm::v1::SamplerSessionRequest step;
    fm::v1::SessionStepInput* in = step.mutable_step()->add_inputs();
    *in->mutable_logits() = logits;
    for (int i = 0; i < kCalls; ++i) {
      const absl::Time t0 = absl::Now();
      if (!stream->Write(step) || !stream->Read(&resp)) return 1;
      session.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    }
    stream->WritesDone();
    stream->Finish();
    std::printf("| %d | %.1f | %.1f |\n", vocab, Median(unary), Median(session));
  }
  return 0;
}
