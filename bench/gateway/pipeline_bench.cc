// pipeline_bench: single-stream tokens/s through the whole pipeline
// (fm-gateway -> fm-model + fm-sampler, greedy) next to the model's
// in-process decode rate, on random-weight checkpoints of the stories15M
// and stories110M shapes; then aggregate tokens/s for 1, 4, 8 and 16
// concurrent streams. Needs FM_MODELS (for the 32,000-piece Llama 2
// tokenizer) and the built binaries (FM_BIN_DIR, default build/bin).
// Prints a Markdown table. With --constrained, instead: unconstrained and
// constrained greedy single streams alternate (the constraint a JSON
// Schema string of printable text, so neither run ends early), and the
// ratio of each pair is reported.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/gateway/bench_stack.h"
#include "bench/median.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "services/model/llama_model.h"
#include "tests/support/test_env.h"

namespace {

using fm::bench::StreamResult;

// Tokens/s of greedy single-stream decode, in process, from a fresh
// sequence.
double InProcessRate(fm::model::LlamaModel& model, int tokens) {
  auto seq = model.NewSequence(0);
  std::vector<int32_t> prompt = {1, 9038, 2501, 263, 931};
  auto logits = model.Forward(seq.get(), prompt);
  const absl::Time start = absl::Now();
  for (int i = 0; i < tokens; ++i) {
    const int32_t next = static_cast<int32_t>(
        std::max_element(logits->begin(), logits->end()) - logits->begin());
    logits = model.Forward(seq.get(), {next});
  }
  return tokens / absl::ToDoubleSeconds(absl::Now() - start);
}

StreamResult OneStream(fm::v1::GatewayService::Stub* stub, int tokens,
                       bool constrained = false) {
  fm::v1::GenerateRequest r;
  if (constrained) {
    r.mutable_constraint()->set_json_schema(
        R"({"type":"string","pattern":"^[ -~]*$"})");
  }
  r.set_text("Once upon a time");
  r.set_max_tokens(tokens);
  r.set_ignore_eos(true);
  r.set_no_cache(true);
  r.mutable_shorthand()->set_temperature(0);
  return fm::bench::GrpcStream(stub, r);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, constrained = false;
  for (int i = 1; i < argc; ++i) {
    quick |= std::strcmp(argv[i], "--quick") == 0;
    constrained |= std::strcmp(argv[i], "--constrained") == 0;
  }
  const std::string tokenizer =
      fm::testing::ModelFile("llama2-tokenizer.model");
  if (tokenizer.empty()) {
    std::fprintf(
        stderr, "pipeline_bench needs FM_MODELS with llama2-tokenizer.model\n");
    return 2;
  }
  const int threads = 1;
  if (constrained) {
    std::printf(
        "Unconstrained and constrained single-stream windows alternate (%d "
        "pairs); tok/s are medians, the ratio is the median of the pairs' "
        "ratios.\n\n| model | unconstrained tok/s | constrained tok/s | "
        "constrained / unconstrained |\n|---|---:|---:|---:|\n",
        quick ? 3 : 7);
  } else {
    std::printf(
        "In-process and pipeline single-stream windows alternate (%d pairs); "
        "tok/s are medians, the ratio is the median of the pairs' "
        "ratios.\n\n",
        quick ? 3 : 7);
    std::printf(
        "| model | in-process tok/s | pipeline tok/s | pipeline / in-process | "
        "1 stream | 4 streams | 8 streams | 16 streams |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  }
  for (const fm::bench::Shape& shape : fm::bench::StoryShapes()) {
    auto path = fm::bench::WriteRandomCheckpoint(shape);
    if (!path.ok()) return 1;
    const int tokens = quick ? 64 : (shape.dim > 500 ? 128 : 256);
    fm::model::LoadOptions load;  // as fm-model runs by default
    load.threads = threads;
    load.kv_dtype = fm::model::KvDType::kF16;
    auto local_model = fm::model::LlamaModel::Load(*path, load);
    if (!local_model.ok()) {
      std::fprintf(stderr, "load: %s\n",
                   local_model.status().ToString().c_str());
      return 1;
    }
    auto stack = fm::bench::BenchStack::Start(*path, tokenizer, threads);
    if (!stack.ok()) {
      std::fprintf(stderr, "%s\n", stack.status().ToString().c_str());
      return 1;
    }
    fm::v1::GatewayService::Stub* stub = (*stack)->stub();
    OneStream(stub, 8);  // warm up connections
    if (constrained) {
      OneStream(stub, 8, true);  // compiles and caches the constraint
      std::vector<double> plain, bound, ratios;
      for (int round = 0; round < (quick ? 3 : 7); ++round) {
        const double a = OneStream(stub, tokens).TokensPerSecond();
        const double b = OneStream(stub, tokens, true).TokensPerSecond();
        plain.push_back(a);
        bound.push_back(b);
        ratios.push_back(b / a);
      }
      std::printf("| %s | %.1f | %.1f | %.0f%% |\n", shape.name,
                  fm::bench::Median(plain), fm::bench::Median(bound),
                  100.0 * fm::bench::Median(ratios));
      std::fflush(stdout);
      continue;
    }
    // In-process and pipeline windows alternate, and each pair gives one
    // ratio: this host's speed moves by tens of percent from one second to
    // the next, so figures taken minutes apart are not comparable.
    std::vector<double> locals, pipelines, ratios;
    for (int round = 0; round < (quick ? 3 : 7); ++round) {
      const double local = InProcessRate(**local_model, tokens);
      const double pipeline = OneStream(stub, tokens).TokensPerSecond();
      locals.push_back(local);
      pipelines.push_back(pipeline);
      ratios.push_back(pipeline / local);
    }

    std::vector<double> aggregate;
    for (int streams : {1, 4, 8, 16}) {
      std::vector<StreamResult> results(streams);
      std::vector<std::thread> workers;
      const int per_stream = quick ? 32 : 64;
      const absl::Time start = absl::Now();
      for (int s = 0; s < streams; ++s) {
        workers.emplace_back(
            [&, s] { results[s] = OneStream(stub, per_stream); });
      }
      for (auto& w : workers) w.join();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      int total = 0;
      for (const auto& r : results) total += r.tokens;
      aggregate.push_back(total / seconds);
    }
    std::printf("| %s | %.1f | %.1f | %.0f%% | %.1f | %.1f | %.1f | %.1f |\n",
                shape.name, fm::bench::Median(locals),
                fm::bench::Median(pipelines), 100.0 * fm::bench::Median(ratios),
                aggregate[0], aggregate[1], aggregate[2], aggregate[3]);
    std::fflush(stdout);
  }
  return 0;
}
