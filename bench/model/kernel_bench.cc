// kernel_bench: one thread's throughput of each integer matrix kernel
// (weights per second, times the inputs), with the weights in L2 (the
// kernel's compute rate) and streamed from memory (what decode sees), next
// to the plain streaming read rate of the same buffer. A kernel whose
// in-cache rate is below the memory rate cannot reach the bandwidth bound.
// Usage: kernel_bench [--quick] [--types=Q8_0,Q4_K,...]. Markdown on stdout.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/median.h"
#include "services/model/aligned_vector.h"
#include "services/model/cpu_features.h"
#include "services/model/dtype.h"
#include "services/model/huge_page_buffer.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/interleaved_vnni.h"
#include "services/model/kquant_matmul.h"
#include "services/model/quant.h"
#include "tests/model/ggml_quant_reference.h"

namespace fm::model {
namespace {

using Clock = std::chrono::steady_clock;
using testing::GgmlType;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One weight matrix of `type`, rows x cols, from N(0, 1) floats. Quantizing
// a large matrix with the reference rule is slow, so a few distinct rows
// are quantized and copied: the kernels' speed does not depend on values.
AlignedVector<uint8_t> MakeWeights(GgmlType type, int64_t rows, int64_t cols) {
  constexpr int64_t kDistinct = 16;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(cols);
  std::vector<std::string> distinct;
  for (int64_t r = 0; r < kDistinct; ++r) {
    for (float& v : x) v = normal(rng);
    distinct.push_back(testing::QuantizeReference(type, x.data(), cols));
  }
  const size_t row_bytes = distinct[0].size();
  AlignedVector<uint8_t> w(row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(w.data() + r * row_bytes, distinct[r % kDistinct].data(),
                row_bytes);
  }
  return w;
}

DType ToDType(GgmlType t) {
  DType d = DType::kF32;
  DTypeFromGgml(static_cast<uint32_t>(t), &d);
  return d;
}

// The inputs, quantized as the kernel of `type` wants them.
struct Inputs {
  Q8Activations q8;
  Q8KActivations q8k;
};

Inputs MakeInputs(int64_t n, int64_t cols) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(cols);
  Inputs in;
  in.q8.with_spread = in.q8k.with_spread = true;  // for the AVX2 kernels
  in.q8.Resize(n, cols);
  in.q8k.Resize(n, cols);
  for (int64_t i = 0; i < n; ++i) {
    for (float& v : x) v = normal(rng);
    in.q8.QuantizeRow(i, x.data());
    in.q8k.QuantizeRow(i, x.data());
  }
  return in;
}

// Which kernel runs: ggml's rows, or an InterleaveRows copy with the AVX2
// or the AVX-512 VNNI kernels.
enum class Kernel { kRows, kX8Avx2, kX8Vnni };

const char* KernelSuffix(Kernel k) {
  switch (k) {
    case Kernel::kRows:
      return "";
    case Kernel::kX8Avx2:
      return " x8 avx2";
    case Kernel::kX8Vnni:
      return " x8 vnni";
  }
  return "";
}

void Run(DType dtype, Kernel kernel, const uint8_t* w, const Inputs& in,
         int64_t rows, float* out) {
  if (kernel == Kernel::kX8Avx2) {
    MatMulInterleavedAvx2(dtype, w, in.q8, in.q8k, rows, 0, rows, out);
  } else if (kernel == Kernel::kX8Vnni) {
    MatMulInterleavedVnni(dtype, w, in.q8, in.q8k, rows, 0, rows, out);
  } else if (HasKQuantKernel(dtype)) {
    MatMulKQuant(dtype, w, in.q8k, rows, 0, rows, out);
  } else {
    MatMulBlocks32(dtype, w, in.q8, rows, 0, rows, out);
  }
}

// Plain streaming read of [p, p + bytes): bytes per second.
__attribute__((target("avx2"))) double ReadRate(const uint8_t* p,
                                                size_t bytes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
  const auto t0 = Clock::now();
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64) {
    a0 = _mm256_add_epi8(
        a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi8(
        a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
  }
  const double s = Seconds(t0, Clock::now());
  volatile int sink = _mm256_extract_epi32(_mm256_add_epi8(a0, a1), 0);
  (void)sink;
  return i / s;
}

// Weights x inputs per second over `reps` passes: the best pass (in L2 the
// kernel is compute-bound, and other tenants of the host only slow a pass
// down), or the median of streamed passes.
double KernelRate(DType dtype, Kernel kernel, const uint8_t* w,
                  const Inputs& in, int64_t rows, int64_t cols, int64_t n,
                  int reps, bool best) {
  std::vector<float> out(rows * n);
  std::vector<double> rates;
  Run(dtype, kernel, w, in, rows, out.data());  // warm-up
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    Run(dtype, kernel, w, in, rows, out.data());
    rates.push_back(static_cast<double>(rows) * cols * n /
                    Seconds(t0, Clock::now()));
  }
  return best ? *std::max_element(rates.begin(), rates.end())
              : bench::Median(rates);
}

struct Options {
  bool quick = false;
  std::vector<GgmlType> types = {
      GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0, GgmlType::kQ4_1,
      GgmlType::kQ5_1, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
      GgmlType::kQ5_K, GgmlType::kQ6_K};
};

int Main(const Options& opt) {
  constexpr int64_t kCols = 768;  // stories110M's dim
  const std::vector<int64_t> batches = {1, 2, 4, 8};
  const int64_t cache_rows = 256;  // ~50-200 KiB: inside L2
  const int64_t stream_bytes = (opt.quick ? 64 : 256) << 20;
  const int reps_cache = opt.quick ? 50 : 200;
  const int reps_stream = opt.quick ? 3 : 7;
  std::printf(
      "# Integer kernels, one thread\n\n`build/bin/kernel_bench`: rows of %lld "
      "weights; \"cache\": %lld rows (in L2), \"memory\": %lld MiB of rows "
      "(streamed); Gw/s = 10^9 weights x inputs per second, the best "
      "pass in cache, the median in memory; read GB/s = a plain streaming read "
      "of the same buffer. "
      "CPU: avx2+fma+f16c %s, avx512 %s, avx512vnni %s.\n\n",
      static_cast<long long>(kCols), static_cast<long long>(cache_rows),
      static_cast<long long>(stream_bytes >> 20),
      Cpu().avx2_fma_f16c ? "yes" : "no", Cpu().avx512 ? "yes" : "no",
      Cpu().avx512_vnni ? "yes" : "no");
  std::printf(
      "| type | bits/w | n | cache Gw/s | memory Gw/s | memory GB/s | "
      "read GB/s | memory / read |\n|---|---:|---:|---:|---:|---:|---:"
      "|---:|\n");
  for (GgmlType type : opt.types) {
    const DType dtype = ToDType(type);
    const double bytes_per_weight =
        static_cast<double>(testing::BlockBytes(type)) /
        testing::BlockElements(type);
    const int64_t row_bytes =
        static_cast<int64_t>(bytes_per_weight * kCols + 0.5);
    const int64_t stream_rows = stream_bytes / row_bytes;
    const auto cache_w = MakeWeights(type, cache_rows, kCols);
    const auto stream_w = MakeWeights(type, stream_rows, kCols);
    for (Kernel kernel : {Kernel::kRows, Kernel::kX8Avx2, Kernel::kX8Vnni}) {
      const bool interleaved = kernel != Kernel::kRows;
      if (interleaved && !HasInterleavedKernel(dtype)) continue;
      if (kernel == Kernel::kX8Vnni && !HasInterleavedVnni()) continue;
      // Q2_K and Q3_K have no row kernel (dequantized path).
      if (!interleaved && !HasKQuantKernel(dtype) &&
          !HasBlocks32Kernel(dtype)) {
        continue;
      }
      HugePageBuffer cache_x8, stream_x8;
      if (interleaved) {
        cache_x8 = HugePageBuffer(InterleavedBytes(dtype, cache_rows, kCols));
        InterleaveRows(dtype, cache_w.data(), cache_rows, kCols,
                       cache_x8.data());
        stream_x8 = HugePageBuffer(InterleavedBytes(dtype, stream_rows, kCols));
        InterleaveRows(dtype, stream_w.data(), stream_rows, kCols,
                       stream_x8.data());
        if (kernel == Kernel::kX8Vnni) {
          ReorderForVnni(dtype, cache_x8.data(), cache_rows, kCols);
          ReorderForVnni(dtype, stream_x8.data(), stream_rows, kCols);
        }
      }
      const uint8_t* cw = interleaved ? cache_x8.data() : cache_w.data();
      const uint8_t* sw = interleaved ? stream_x8.data() : stream_w.data();
      const size_t stream_size =
          interleaved ? stream_x8.size() : stream_w.size();
      for (int64_t n : batches) {
        const Inputs sub = MakeInputs(n, kCols);
        const double cache =
            KernelRate(dtype, kernel, cw, sub, cache_rows, kCols, n, reps_cache,
                       /*best=*/true);
        std::vector<double> mem, read;
        for (int r = 0; r < reps_stream; ++r) {
          read.push_back(ReadRate(sw, stream_size));
          mem.push_back(KernelRate(dtype, kernel, sw, sub, stream_rows, kCols,
                                   n, 1, /*best=*/false));
        }
        const double mem_rate = bench::Median(mem);
        const double read_rate = bench::Median(read);
        const double mem_bytes = mem_rate / n * bytes_per_weight;
        std::printf(
            "| %s%s | %.2f | %lld | %.1f | %.1f | %.1f | %.1f | %.0f%% |\n",
            testing::GgmlTypeName(type), KernelSuffix(kernel),
            bytes_per_weight * 8, static_cast<long long>(n), cache / 1e9,
            mem_rate / 1e9, mem_bytes / 1e9, read_rate / 1e9,
            100.0 * mem_bytes / read_rate);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace fm::model

int main(int argc, char** argv) {
  fm::model::Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      opt.quick = true;
    } else if (arg.rfind("--types=", 0) == 0) {
      opt.types.clear();
      for (absl::string_view name : absl::StrSplit(arg.substr(8), ',')) {
        bool found = false;
        for (auto t : fm::model::testing::AllGgmlTypes()) {
          if (name == fm::model::testing::GgmlTypeName(t)) {
            opt.types.push_back(t);
            found = true;
          }
        }
        if (!found) {
          std::fprintf(stderr, "kernel_bench: unknown type %s\n",
                       std::string(name).c_str());
          return 2;
        }
      }
    } else {
      std::fprintf(stderr,
                   "usage: kernel_bench [--quick] [--types=Q4_K,...]\n");
      return 2;
    }
  }
  return fm::model::Main(opt);
}
