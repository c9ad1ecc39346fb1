// In-process sampler benchmark: microseconds per token for the default chain
// and for each stage alone; prints a Markdown table (see RESULTS.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_format.h"
#include "services/sampler/candidate_ops.h"
#include "services/sampler/sampler_chain.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

using Clock = std::chrono::steady_clock;

// Logits shaped like a language model's: a broad Gaussian body (sd 2.5)
// and a handful of strong candidates well above it.
std::vector<float> MakeLogits(int vocab_size, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> body(0.0f, 2.5f);
  std::vector<float> logits(vocab_size);
  for (float& v : logits) v = body(gen);
  std::uniform_int_distribution<int> pick(0, vocab_size - 1);
  for (int i = 0; i < 8; ++i) logits[pick(gen)] = 12.0f + 1.5f * i;
  return logits;
}

std::vector<TokenId> MakeHistory(int vocab_size, int n) {
  std::mt19937 gen(99);
  std::uniform_int_distribution<int> pick(0, vocab_size - 1);
  std::vector<TokenId> history(n);
  for (TokenId& t : history) t = pick(gen);
  return history;
}

struct Stats {
  double mean_us;
  double p50_us;
  double p99_us;
};

Stats Summarise(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  return {sum / us.size(), us[us.size() / 2], us[us.size() * 99 / 100]};
}

// Full Sample() calls (validation, candidates, chain, logprob, Accept).
Stats BenchSample(const ChainSpec& spec, const std::vector<float>& logits,
                  const std::vector<TokenId>& history, int iterations,
                  const SampleOptions& options) {
  auto built = BuildChain(spec);
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    std::exit(1);
  }
  SamplerChain& chain = **built;
  for (TokenId t : history) chain.Accept(t);
  std::vector<double> us;
  for (int i = 0; i < iterations + 20; ++i) {
    SamplingContext ctx{Rng(1234, 0, static_cast<uint64_t>(i))};
    const auto start = Clock::now();
    auto result = chain.Sample(logits, ctx, options);
    const double elapsed =
        std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
      std::exit(1);
    }
    if (i >= 20) us.push_back(elapsed);  // Warm-up excluded.
  }
  return Summarise(us);
}

// One stage on the full vocabulary, the way Sample() runs it: ApplyDense on
// contiguous logits when the stage has it, else Apply on candidates (whose
// construction is not timed). `path` says which.
Stats BenchStage(const StageSpec& spec, const std::vector<float>& logits,
                 const std::vector<TokenId>& history, int iterations,
                 std::string* path) {
  auto built = BuildStage(spec);
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    std::exit(1);
  }
  SamplerStage& stage = **built;
  for (TokenId t : history) stage.Accept(t);
  TokenCandidates candidates;
  std::vector<float> work;
  std::vector<double> us;
  for (int i = 0; i < iterations + 20; ++i) {
    SamplingContext ctx{Rng(1234, 0, static_cast<uint64_t>(i))};
    work.assign(logits.begin(), logits.end());
    auto start = Clock::now();
    const DenseApply outcome =
        stage.ApplyDense(absl::MakeSpan(work), candidates, ctx);
    if (outcome == DenseApply::kUnsupported) {
      candidates.data.resize(logits.size());
      for (size_t j = 0; j < logits.size(); ++j) {
        candidates.data[j] = {static_cast<TokenId>(j), logits[j], 0.0f};
      }
      candidates.dense = true;
      candidates.sorted = false;
      candidates.selected = -1;
      start = Clock::now();
      stage.Apply(candidates, ctx);
      *path = "candidates";
    } else {
      *path = "dense";
    }
    const double elapsed =
        std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (i >= 20) us.push_back(elapsed);
  }
  return Summarise(us);
}

// "top_k k=40": the stage and the parameters given to it.
std::string Label(const StageSpec& spec) {
  std::string label = spec.stage;
  for (const auto& [name, value] : spec.params) {
    if (const auto* d = std::get_if<double>(&value)) {
      label += absl::StrFormat(" %s=%g", name, *d);
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      label += absl::StrFormat(" %s=%d", name, *i);
    } else if (const auto* ids = std::get_if<IdList>(&value)) {
      label += absl::StrFormat(" %s=(%d ids)", name, ids->size());
    } else if (const auto* b = std::get_if<IdBiasList>(&value)) {
      label += absl::StrFormat(" %s=(%d ids)", name, b->size());
    }
  }
  return label;
}

void Row(const std::string& what, int vocab, const Stats& s,
         const std::string& path = "") {
  std::printf("| %s | %d |%s %.1f | %.1f | %.1f |\n", what.c_str(), vocab,
              path.empty() ? "" : (" " + path + " |").c_str(), s.mean_us,
              s.p50_us, s.p99_us);
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::printf("# fm-sampler in-process benchmark\n\n");
  std::printf(
      "Microseconds per sampled token (mean, median, 99th percentile over "
      "%d calls after 20 warm-up calls). Logits: N(0, 2.5^2) body plus 8 "
      "strong tokens; 64 tokens of history accepted.\n\n",
      iterations);
  std::printf("## Sample() with whole chains\n\n");
  std::printf("| chain | vocab | mean us | p50 us | p99 us |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  ChainSpec penalised = DefaultChainSpec();
  penalised[0].params["penalty"] = 1.1;
  penalised[1].params["penalty"] = 0.5;
  penalised[2].params["penalty"] = 0.5;
  const ChainSpec unfiltered = {{"top_p", {{"p", 0.95}}},
                                {"min_p", {{"p", 0.05}}},
                                {"temperature", {{"temperature", 0.8}}},
                                {"dist", {}}};
  for (int vocab : {32000, 128256}) {
    const auto logits = MakeLogits(vocab, 7);
    const auto history = MakeHistory(vocab, 64);
    const int n = vocab > 100000 ? std::max(1, iterations / 4) : iterations;
    SampleOptions plain;
    Row("default (penalties off)", vocab,
        BenchSample(DefaultChainSpec(), logits, history, n, plain));
    Row("default, penalties on", vocab,
        BenchSample(penalised, logits, history, n, plain));
    SampleOptions rich;
    rich.top_n = 20;
    rich.logprob_mode = LogprobMode::kRaw;
    Row("default + raw logprobs + top-20", vocab,
        BenchSample(DefaultChainSpec(), logits, history, n, rich));
    SampleOptions traced;
    traced.trace = true;
    Row("default + trace", vocab,
        BenchSample(DefaultChainSpec(), logits, history, n, traced));
    Row("top_p, min_p, temperature, dist (no top_k)", vocab,
        BenchSample(unfiltered, logits, history, n, plain));
    Row("temperature 0.7, dist (no truncation)", vocab,
        BenchSample({{"temperature", {{"temperature", 0.7}}}, {"dist", {}}},
                    logits, history, n, plain));
    Row("greedy only", vocab,
        BenchSample({{"greedy", {}}}, logits, history, n, plain));
  }
  std::printf(
      "\n## Each stage alone on the full vocabulary\n\n"
      "`dense`: the stage's ApplyDense on contiguous logits (what Sample() "
      "runs first); `candidates`: Apply on a materialised TokenData array "
      "(building it, about 0.7 ns per token, is not included).\n\n");
  std::printf("| stage | vocab | path | mean us | p50 us | p99 us |\n");
  std::printf("|---|---:|---|---:|---:|---:|\n");
  std::vector<StageSpec> stages = {
      {"greedy", {}},
      {"dist", {}},
      {"mirostat_v2", {}},
      {"temperature", {{"temperature", 0.8}}},
      {"top_k", {{"k", int64_t{40}}}},
      {"temperature", {{"temperature", 0.0}}},
      {"top_p", {{"p", 0.95}}},
      {"min_p", {{"p", 0.05}}},
      {"typical_p", {{"p", 0.95}}},
      {"top_n_sigma", {{"n", 1.0}}},
      {"xtc", {{"probability", 1.0}, {"threshold", 0.1}}},
      {"repetition_penalty", {{"penalty", 1.1}}},
      {"presence_penalty", {{"penalty", 0.5}}},
      {"frequency_penalty", {{"penalty", 0.5}}},
      {"dry", {}},
      {"logit_bias", {{"bias", IdBiasList{{1, 2.0}, {2, -1.0}, {3, -100.0}}}}},
      {"allow", {{"ids", IdList{1, 2, 3, 4, 5, 6, 7, 8}}}},
      {"ban", {{"ids", IdList{1, 2, 3, 4, 5, 6, 7, 8}}}},
  };
  for (int vocab : {32000, 128256}) {
    const auto logits = MakeLogits(vocab, 7);
    const auto history = MakeHistory(vocab, 64);
    const int n = vocab > 100000 ? std::max(1, iterations / 4) : iterations;
    for (const StageSpec& spec : stages) {
      std::string path;
      const Stats stats = BenchStage(spec, logits, history, n, &path);
      Row(Label(spec), vocab, stats, path);
    }
  }
  return 0;
}

}  // namespace
}  // namespace fm::sampler

int main(int argc, char** argv) { return fm::sampler::Main(argc, argv); }
