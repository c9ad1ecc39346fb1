// Load progress: the terminal line and the per-tensor reports of a real
// load of a quantized model.
#include "services/model/load_progress.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>

#include "services/model/cpu_features.h"
#include "services/model/llama_model.h"
#include "tests/model/model_test_util.h"
#include "tests/model/tiny_model_writer.h"
#include "tests/support/test_env.h"

namespace fm::model::testing {
namespace {

std::string Captured(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST_CASE("load progress on a terminal: a line per phase, rewritten in place",
          "[model][load_progress]") {
  FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    LoadProgress progress(out, /*terminal=*/true);
    progress.Bytes(3 << 20, 3 << 20);
    progress.Tensors(7, 7);
    progress.Finish();
  }
  const std::string text = Captured(out);
  std::fclose(out);
  // The last report of each phase is always shown, in place.
  CHECK(text ==
        "\rloading model: read 3.0 MiB of 3.0 MiB (100%)\x1b[K\n"
        "\rloading model: laid out 7 of 7 tensors for the kernels (100%)"
        "\x1b[K\n");
}

TEST_CASE("a quantized load reports every tensor it lays out",
          "[model][load_progress]") {
  if (!Cpu().avx2_fma_f16c) {
    ::fm::testing::ReportSkip(
        "this CPU has no AVX2/FMA/F16C, so nothing is laid out");
    return;
  }
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 5);
  const std::string path = TempPath("progress.gguf");
  REQUIRE(WriteGguf(m, path, GgmlType::kQ8_0).ok());
  std::mutex mu;
  std::multiset<int64_t> done_seen;
  std::set<int64_t> totals;
  LoadOptions options;
  options.threads = 2;
  options.on_tensor_laid_out = [&](int64_t done, int64_t total) {
    std::lock_guard<std::mutex> lock(mu);
    done_seen.insert(done);
    totals.insert(total);
  };
  auto model = LlamaModel::Load(path, options);
  REQUIRE(model.ok());
  // Two layers of seven matrices, and the (tied) classifier.
  REQUIRE(totals == std::set<int64_t>{15});
  REQUIRE(done_seen.size() == 15);
  for (int64_t k = 1; k <= 15; ++k) CHECK(done_seen.count(k) == 1);
}

}  // namespace
}  // namespace fm::model::testing
