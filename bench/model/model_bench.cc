// model_bench: tokens/s of the model core (single-stream decode, batched
// decode at 1..16 sequences, 128-token prefill) against the bandwidth bound.
// Usage: model_bench [--quick] [--dir=TMPDIR] [--only=SHAPE] [--dtypes=...]
// [--row_kernels] (Q4_K / Q6_K without interleaving) [--reuse] (keep the
// written models in --dir for the next run) [--decode_only]
// (--only=tinyllama1.1B: a 1.1B shape, run only when named)
// [--batch_only=N] (only batched decode of N sequences: a steady load for a
// profiler) [--threads=1|2].
// Markdown on stdout.
#include <immintrin.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/median.h"
#include "services/model/blas_core.h"
#include "services/model/cpu_features.h"
#include "services/model/f32_kernel.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/llama_model.h"
#include "services/model/quant.h"
#include "services/model/thread_pool.h"
#include "tests/model/arch_model.h"
#include "tests/model/tiny_model_writer.h"

namespace fm::model {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Shape {
  const char* name;
  int dim, n_layers, n_heads, hidden_dim;
  // Run only when --only names it: TinyLlama 1.1B's shape, whose 0.6-1.2 GB
  // files outgrow any L3 (decode from DRAM), takes minutes to write.
  bool on_request = false;
};

constexpr Shape kShapes[] = {
    {"stories15M", 288, 6, 6, 768},
    {"stories42M", 512, 8, 8, 1376},
    {"stories110M", 768, 12, 12, 2048},
    {"tinyllama1.1B", 2048, 22, 32, 5632, true},
};

struct Options {
  bool quick = false;
  std::string dir = "/tmp";
  std::string only;  // run only this shape (e.g. stories110M)
  std::string dtypes;  // comma-separated weight types; empty: all
  bool interleave = true;    // LoadOptions::interleave_weights
  bool reuse = false;        // keep the written models and reuse them
  bool decode_only = false;  // no batched decode, no prefill
  int batch_only = 0;  // > 0: only this batch size's decode, for profilers
  std::vector<int> threads = {1, 2};
};

// --- Memory bandwidth: the model's own weights, read as fast as plain
// streaming loads can, with the same number of threads as the model uses. ---

// Sum of the 64-byte lines inside [p, p + bytes) with aligned AVX2 loads
// (4 independent accumulators); the partial lines at both ends are skipped.
// Returns the bytes read through *read.
__attribute__((target("avx2"))) double SumLines(const char* p, size_t bytes,
                                                size_t* read) {
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63};
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(p) + bytes) & ~uintptr_t{63};
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  *read = 0;
  if (end <= begin) return 0.0;
  for (uintptr_t q = begin; q + 128 <= end; q += 128) {
    const float* f = reinterpret_cast<const float*>(q);
    a0 = _mm256_add_ps(a0, _mm256_load_ps(f));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(f + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(f + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(f + 24));
  }
  *read = (end - begin) / 128 * 128;
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  float out[8];
  _mm256_storeu_ps(out, s);
  double total = 0.0;
  for (float f : out) total += f;
  return total;
}

// What a decode step streams: every layer matrix and norm and the
// classifier (as ModelInfo::streamed_bytes_per_token counts them).
std::vector<const Tensor*> StreamedTensors(const LlamaModel& model) {
  const LlamaWeights& w = model.weights();
  std::vector<const Tensor*> tensors;
  for (const LayerWeights& l : w.layers) {
    for (const Tensor* t : {&l.rms_att, &l.wq, &l.wk, &l.wv, &l.wo, &l.rms_ffn,
                            &l.w1, &l.w2, &l.w3}) {
      tensors.push_back(t);
    }
  }
  tensors.push_back(&w.wcls);
  return tensors;
}

// The memory those tensors occupy: the interleaved copies where the model
// made them.
std::vector<std::pair<const char*, size_t>> StreamedRegions(
    const LlamaModel& model) {
  std::vector<std::pair<const char*, size_t>> regions;
  for (const Tensor* t : StreamedTensors(model)) {
    const void* p = t->interleaved != nullptr ? t->interleaved : t->data;
    regions.emplace_back(static_cast<const char*>(p), t->streamed_bytes());
  }
  return regions;
}

// The same tensors' bytes as the file stores them: the bound's numerator,
// so that a layout that streams more than the file (interleaved Q4_K:
// 148 bytes per 256 weights instead of 144) is not credited for it.
double FileBytesPerToken(const LlamaModel& model) {
  double bytes = 0.0;
  for (const Tensor* t : StreamedTensors(model)) {
    bytes += static_cast<double>(t->bytes());
  }
  return bytes;
}

// Reads [p, p + bytes) with the model's own F32 decode kernel, as rows of
// 256 floats times a vector of ones: the kernel's read pattern (one row at
// a time, aligned loads, prefetch ahead) without the rest of a decode step.
void ReadWithKernel(const char* p, size_t bytes, size_t* read) {
  constexpr int64_t kCols = 256;
  static const std::vector<float> ones(kCols, 1.0f);
  const int64_t rows = static_cast<int64_t>(bytes / (kCols * sizeof(float)));
  std::vector<float> out(std::max<int64_t>(rows, 1));
  MatMulF32Rows(reinterpret_cast<const float*>(p), ones.data(), 1, rows, kCols,
                0, rows, out.data());
  *read = static_cast<size_t>(rows) * kCols * sizeof(float);
}

// The fastest this host reads exactly the bytes a decode step reads (same
// mapping, same pages) at this moment, with `threads` std::threads each
// taking an even share of every region in decode order: the best of `reps`
// passes of each of two read kernels, a plain streaming sum (aligned AVX2
// loads) and the model's own F32 kernel (faster here: 38-39 vs 32 GB/s on
// one thread, measured on the 110M weights). Bytes per second.
double MeasureBandwidth(const LlamaModel& model, int threads, int reps) {
  const auto regions = StreamedRegions(model);
  double best = 0.0;
  volatile double sink = 0.0;
  for (int r = 0; r < reps; ++r) {
    for (bool kernel : {false, true}) {
      std::vector<double> sums(threads, 0.0);
      std::vector<size_t> read(threads, 0);
      const auto t0 = Clock::now();
      std::vector<std::thread> workers;
      for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
          for (const auto& [p, bytes] : regions) {
            // Shares start on 1 KiB boundaries of the region.
            const size_t b = bytes * t / threads / 1024 * 1024;
            const size_t e = t + 1 == threads
                                 ? bytes
                                 : bytes * (t + 1) / threads / 1024 * 1024;
            size_t n = 0;
            if (kernel) {
              ReadWithKernel(p + b, e - b, &n);
            } else {
              sums[t] += SumLines(p + b, e - b, &n);
            }
            read[t] += n;
          }
        });
      }
      for (auto& th : workers) th.join();
      const double s = Seconds(t0, Clock::now());
      size_t total = 0;
      for (int t = 0; t < threads; ++t) {
        sink = sink + sums[t];
        total += read[t];
      }
      best = std::max(best, total / s);
    }
  }
  return best;
}

// --- Models. ---

// The weight types benchmarked: a uniform type, or llama-quantize's mix.
struct WeightType {
  const char* name;
  testing::TypePlan plan;  // empty for F32 (written as llama2.c)
};

// llama-quantize's fallback for a row length its type's 256-block does not
// divide (llama.cpp: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0).
testing::GgmlType Fallback(testing::GgmlType t) {
  using testing::GgmlType;
  switch (t) {
    case GgmlType::kQ4_K:
      return GgmlType::kQ5_0;
    case GgmlType::kQ5_K:
      return GgmlType::kQ5_1;
    case GgmlType::kQ6_K:
      return GgmlType::kQ8_0;
    default:
      return t;
  }
}

// Uniform type t, or (mix) Q6_K for attn_v, ffn_down and the tied
// classifier and t elsewhere, as the _M presets; 1-D tensors F32.
testing::TypePlan Plan(testing::GgmlType t, bool mix) {
  return [t, mix](const std::string& name, uint64_t cols) {
    using testing::GgmlType;
    if (name.find(".bias") != std::string::npos ||
        name.find("norm") != std::string::npos || name == "rope_freqs.weight") {
      return GgmlType::kF32;
    }
    GgmlType want = t;
    if (mix && (name.find("attn_v") != std::string::npos ||
                name.find("ffn_down") != std::string::npos ||
                name == "token_embd.weight" || name == "output.weight")) {
      want = GgmlType::kQ6_K;
    }
    if (cols % testing::BlockElements(want) != 0) want = Fallback(want);
    return want;
  };
}

std::vector<WeightType> WeightTypes(const std::string& list) {
  using testing::GgmlType;
  const std::vector<WeightType> all = {
      {"F32", nullptr},
      {"F16", Plan(GgmlType::kF16, false)},
      {"Q8_0", Plan(GgmlType::kQ8_0, false)},
      {"Q4_0", Plan(GgmlType::kQ4_0, false)},
      {"Q4_K_M", Plan(GgmlType::kQ4_K, true)},
      {"Q5_K_M", Plan(GgmlType::kQ5_K, true)},
      {"Q6_K", Plan(GgmlType::kQ6_K, false)},
  };
  if (list.empty()) return all;
  std::vector<WeightType> out;
  for (const WeightType& w : all) {
    if (("," + list + ",").find(absl::StrCat(",", w.name, ",")) !=
        std::string::npos) {
      out.push_back(w);
    }
  }
  return out;
}

std::string WriteModel(const Shape& s, const WeightType& type,
                       const Options& opt) {
  const std::string path =
      absl::StrCat(opt.dir, "/fm_bench_", s.name, "_", type.name,
                   type.plan ? ".gguf" : ".bin");
  if (opt.reuse && std::filesystem::exists(path)) return path;
  absl::Status st;
  if (!type.plan) {
    testing::TinyConfig c;
    c.dim = s.dim;
    c.hidden_dim = s.hidden_dim;
    c.n_layers = s.n_layers;
    c.n_heads = s.n_heads;
    c.n_kv_heads = s.n_heads;
    c.vocab_size = 32000;
    c.seq_len = 1024;
    c.shared_classifier = true;
    st = testing::WriteLlama2cLegacy(testing::MakeRandomTinyModel(c, 1234),
                                     path);
  } else {
    testing::ArchConfig c;
    c.dim = s.dim;
    c.hidden_dim = s.hidden_dim;
    c.n_layers = s.n_layers;
    c.n_heads = s.n_heads;
    c.n_kv_heads = s.n_heads;
    c.vocab_size = 32000;
    c.context_length = 1024;
    c.rms_eps = 1e-5f;
    st = testing::MakeArchGguf(testing::MakeRandomArchModel(c, 1234), type.plan)
             .Write(path);
  }
  if (!st.ok()) {
    std::fprintf(stderr, "cannot write %s: %s\n", path.c_str(),
                 st.ToString().c_str());
    std::exit(1);
  }
  return path;
}

struct Result {
  std::string model, dtype;
  int threads = 0;
  double weight_mb = 0;
  double bw_gbs = 0;
  double decode_tps = 0, bound_tps = 0, ratio = 0;
  double batched_tps[5] = {};
  double prefill_tps = 0;
};

constexpr int kBatchSizes[5] = {1, 2, 4, 8, 16};

// One timed window: `n_seq` fresh sequences prefilled with `prompt` tokens,
// two warm-up steps, then `steps` batched decode steps; tokens/s.
double DecodeWindow(LlamaModel& model, int n_seq, int steps, int prompt) {
  auto cache = model.NewKvCache(n_seq);
  std::vector<std::vector<float>> logits(n_seq);
  std::vector<int32_t> next(n_seq);
  std::vector<int32_t> prompt_ids(prompt);
  for (int i = 0; i < prompt; ++i) prompt_ids[i] = (i * 131 + 7) % 32000;
  for (int s = 0; s < n_seq; ++s) {
    auto seq = cache->Create(s);
    if (!seq.ok() || !model.Forward(*seq, prompt_ids).ok()) std::exit(2);
    next[s] = (s * 977 + 3) % 32000;
  }
  std::vector<ForwardItem> items(n_seq);
  auto run = [&](int n) {
    for (int step = 0; step < n; ++step) {
      for (int s = 0; s < n_seq; ++s) {
        items[s] = ForwardItem{cache->Find(s), absl::MakeConstSpan(&next[s], 1),
                               false, &logits[s]};
      }
      if (!model.Forward(items).ok()) std::exit(3);
      for (int s = 0; s < n_seq; ++s) {
        next[s] = static_cast<int32_t>(
            std::max_element(logits[s].begin(), logits[s].end()) -
            logits[s].begin());
      }
    }
  };
  run(2);  // warm-up
  const auto t0 = Clock::now();
  run(steps);
  return static_cast<double>(n_seq) * steps / Seconds(t0, Clock::now());
}

// Batched decode: the best of three windows (the machine is shared).
double BatchedDecode(LlamaModel& model, int n_seq, int steps, int prompt) {
  double best = 0.0;
  for (int window = 0; window < 3; ++window) {
    best = std::max(best, DecodeWindow(model, n_seq, steps, prompt));
  }
  return best;
}

// Single-stream decode scored against bandwidth sampled right before each
// window: this host's memory bandwidth moves by 20-40% within seconds
// (other tenants), so a bound measured minutes or even seconds away from
// the decode it bounds says little. Each pair gives one ratio; the
// reported figures are medians over the pairs.
struct PairedDecode {
  double decode_tps = 0;  // median of the windows
  double best_tps = 0;    // best window
  double bw = 0;          // median bandwidth sample, bytes/s
  double ratio = 0;       // median of (window tok/s) / (its sample's bound)
};

PairedDecode DecodeAgainstBandwidth(LlamaModel& model, int threads, int windows,
                                    int steps) {
  const double bytes = FileBytesPerToken(model);
  std::vector<double> tps, bws, ratios;
  for (int w = 0; w < windows; ++w) {
    const double bw = MeasureBandwidth(model, threads, 3);
    const double t = DecodeWindow(model, 1, steps, 8);
    tps.push_back(t);
    bws.push_back(bw);
    ratios.push_back(t * bytes / bw);
  }
  PairedDecode r;
  r.decode_tps = fm::bench::Median(tps);
  r.best_tps = *std::max_element(tps.begin(), tps.end());
  r.bw = fm::bench::Median(bws);
  r.ratio = fm::bench::Median(ratios);
  return r;
}

double Prefill(LlamaModel& model, int n_tokens, int reps) {
  std::vector<int32_t> ids(n_tokens);
  for (int i = 0; i < n_tokens; ++i) ids[i] = (i * 31 + 11) % 32000;
  double best = 0.0;
  for (int r = 0; r < reps + 1; ++r) {
    auto seq = model.NewSequence(0);
    const auto t0 = Clock::now();
    if (!model.Forward(seq.get(), ids).ok()) std::exit(4);
    const double s = Seconds(t0, Clock::now());
    if (r > 0) best = std::max(best, n_tokens / s);  // r == 0 warms up
  }
  return best;
}

// The 1-minute load average: the machine may be shared with other work,
// which shows up in every figure here.
std::string LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  char buf[64] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  return s.substr(0, s.find(' '));
}

int Main(int argc, char** argv) {
  if (auto s = EnsureOpenBlasCore(argc, argv); !s.ok()) {
    std::fprintf(stderr, "warning: %s\n", s.ToString().c_str());
  }
  if (auto s = CheckCpuLimit(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  Options opt;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      opt.quick = true;
    } else if (std::strncmp(argv[i], "--dir=", 6) == 0) {
      opt.dir = argv[i] + 6;
    } else if (std::strncmp(argv[i], "--only=", 7) == 0) {
      opt.only = argv[i] + 7;
    } else if (std::strncmp(argv[i], "--dtypes=", 9) == 0) {
      opt.dtypes = argv[i] + 9;
    } else if (std::strcmp(argv[i], "--row_kernels") == 0) {
      opt.interleave = false;
    } else if (std::strcmp(argv[i], "--reuse") == 0) {
      opt.reuse = true;
    } else if (std::strcmp(argv[i], "--decode_only") == 0) {
      opt.decode_only = true;
    } else if (std::strncmp(argv[i], "--batch_only=", 13) == 0 &&
               std::atoi(argv[i] + 13) >= 1 && std::atoi(argv[i] + 13) <= 64) {
      opt.batch_only = std::atoi(argv[i] + 13);
    } else if (std::strcmp(argv[i], "--threads=1") == 0 ||
               std::strcmp(argv[i], "--threads=2") == 0) {
      opt.threads = {argv[i][10] - '0'};
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--quick] [--dir=TMPDIR] [--only=SHAPE] "
          "[--dtypes=F32,F16,Q8_0,Q4_0,Q4_K_M,Q5_K_M,Q6_K] [--row_kernels] "
          "[--reuse] [--decode_only] [--batch_only=1..64] [--threads=1|2]\n",
          argv[0]);
      return 2;
    }
  }
  const int decode_steps = opt.quick ? 12 : 64;
  const int decode_windows = opt.quick ? 3 : 9;
  const int batch_steps = opt.quick ? 4 : 16;
  const int prefill_reps = opt.quick ? 1 : 3;
  const auto t_start = Clock::now();
  const std::string load_start = LoadAverage();

  std::vector<Result> results;
  double bw_best[3] = {0.0, 0.0, 0.0};
  for (const Shape& shape : kShapes) {
    if (opt.only.empty() ? shape.on_request : opt.only != shape.name) continue;
    for (const WeightType& type : WeightTypes(opt.dtypes)) {
      const std::string path = WriteModel(shape, type, opt);
      for (int threads : opt.threads) {
        LoadOptions load;  // as fm-model runs by default: F16 KV cache
        load.threads = threads;
        load.kv_dtype = KvDType::kF16;
        load.interleave_weights = opt.interleave;
        auto loaded = LlamaModel::Load(path, load);
        if (!loaded.ok()) {
          std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
          return 1;
        }
        LlamaModel& model = **loaded;
        if (opt.batch_only > 0) {  // a steady load for perf, nothing else
          std::printf("%s %s t=%d batch %d: %.1f tok/s\n", shape.name,
                      type.name, threads, opt.batch_only,
                      BatchedDecode(model, opt.batch_only, 4 * batch_steps, 8));
          continue;
        }
        Result r;
        r.model = shape.name;
        r.dtype = type.name;
        r.threads = threads;
        r.weight_mb = FileBytesPerToken(model) / 1e6;
        const PairedDecode d = DecodeAgainstBandwidth(
            model, threads, decode_windows, decode_steps);
        bw_best[threads] = std::max(bw_best[threads], d.bw);
        r.bw_gbs = d.bw / 1e9;
        r.bound_tps = d.bw / FileBytesPerToken(model);
        r.decode_tps = d.decode_tps;
        r.ratio = d.ratio;
        for (int b = 0; b < 5; ++b) {
          r.batched_tps[b] =
              b == 0 ? d.best_tps
              : opt.decode_only
                  ? 0.0
                  : BatchedDecode(model, kBatchSizes[b], batch_steps, 8);
        }
        r.prefill_tps =
            opt.decode_only ? 0.0 : Prefill(model, 128, prefill_reps);
        results.push_back(r);
        std::fprintf(stderr, "%s %s t=%d: decode %.1f tok/s (bound %.1f)\n",
                     r.model.c_str(), r.dtype.c_str(), threads, r.decode_tps,
                     r.bound_tps);
      }
      if (!opt.reuse) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
      }
    }
  }

  if (opt.batch_only > 0) return 0;
  const char* env_core = std::getenv("OPENBLAS_CORETYPE");
  std::printf("# fm_model_core benchmark%s\n\n", opt.quick ? " (--quick)" : "");
  std::printf(
      "Random weights, vocab 32000, n_kv_heads = n_heads; decode from "
      "position 8 (single stream: %d steps; batched: %d steps per "
      "sequence); prefill = one 128-token Forward. OpenBLAS core: %s "
      "(OPENBLAS_CORETYPE=%s). Integer kernels: %s (FM_CPU_LIMIT=%s; Q8_0 "
      "row kernel: %s). KV cache: f16 (fm-model's "
      "default). CPU threads available: %u.\n\n",
      decode_steps, batch_steps, BlasCoreName().c_str(),
      env_core ? env_core : "unset", IntegerKernelName(),
      CpuLimit().empty() ? "unset" : CpuLimit().c_str(), Q8KernelName(),
      std::thread::hardware_concurrency());
  std::printf(
      "Single-stream decode runs in %d windows of %d steps (positions 10 to "
      "%d), each right after a read-bandwidth sample with the same thread "
      "count: the best of 3 passes each of a plain streaming sum (aligned "
      "AVX2 loads) and of the model's own F32 matvec kernel over the model's "
      "own weight bytes that a step reads, in the same mapping. Bound = that "
      "bandwidth / weight bytes streamed per "
      "token (all layer matrices and norms + the classifier); %% of bound = "
      "the median over the windows of (window tok/s) / (its own sample's "
      "bound); decode tok/s and GB/s are medians. Highest median sample: "
      "%.1f GB/s (1 thread), %.1f GB/s (2 threads). Batch columns are the "
      "best of three windows; batch 1 is the best single-stream window.\n\n",
      decode_windows, decode_steps, 10 + decode_steps, bw_best[1] / 1e9,
      bw_best[2] / 1e9);
  std::printf(
      "| model | dtype | threads | MB/token | GB/s | decode tok/s | bound "
      "tok/s | "
      "%% of bound | batch 1 | batch 2 | batch 4 | batch 8 | batch 16 | "
      "batch 8 / single | prefill 128 tok/s |\n");
  std::printf(
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---"
      ":|\n");
  for (const Result& r : results) {
    std::printf(
        "| %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.1f | %.1f | "
        "%.1f | %.1f | %.1f | %.2fx | %.1f |\n",
        r.model.c_str(), r.dtype.c_str(), r.threads, r.weight_mb, r.bw_gbs,
        r.decode_tps, r.bound_tps, 100.0 * r.ratio, r.batched_tps[0],
        r.batched_tps[1], r.batched_tps[2], r.batched_tps[3], r.batched_tps[4],
        r.batched_tps[3] / r.batched_tps[0], r.prefill_tps);
  }
  std::printf(
      "\nBatch columns: aggregate decode tokens/s over all "
      "sequences of one batched Forward. Total run time %.1f s; "
      "1-minute load average %s at the start, %s at the end (on %u "
      "CPUs).\n",
      Seconds(t_start, Clock::now()), load_start.c_str(), LoadAverage().c_str(),
      std::thread::hardware_concurrency());
  return 0;
}

}  // namespace
}  // namespace fm::model

int main(int argc, char** argv) { return fm::model::Main(argc, argv); }
