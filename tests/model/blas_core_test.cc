// OpenBLAS core tests: the core this process runs on is not a generic
// fallback, and in a child started with the preferred core, results stay right.
#include "services/model/blas_core.h"

#include <cblas.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "services/model/llama_model.h"
#include "tests/model/model_test_util.h"
#include "tests/model/reference_forward.h"
#include "tests/model/tiny_model_writer.h"

namespace fm::model::testing {
namespace {

// Naive sgemm/sgemv against OpenBLAS under whatever core is loaded, and
// the forward pass against the scalar oracle.
void CheckBlasResults() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int m = 37, n = 300, k = 129;
  std::vector<float> a(m * k), b(n * k), c(m * n), y(n);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  // C (m, n) = A (m, k) . B (n, k)^T, as the model's prefill matmul.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(),
              k, b.data(), k, 0.0f, c.data(), n);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, b.data(), k, a.data(), 1,
              0.0f, y.data(), 1);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double want = 0.0;
      for (int p = 0; p < k; ++p) want += double(a[i * k + p]) * b[j * k + p];
      REQUIRE(std::fabs(c[i * n + j] - want) <= 1e-4);
      if (i == 0) REQUIRE(std::fabs(y[j] - want) <= 1e-4);
    }
  }
  TinyConfig cfg;
  const TinyModel tiny = MakeRandomTinyModel(cfg, 17);
  const std::string path = TempPath("blas_core.bin");
  REQUIRE(WriteLlama2cLegacy(tiny, path).ok());
  auto model = LlamaModel::Load(path, 2);
  REQUIRE(model.ok());
  ReferenceTransformer ref(tiny);
  auto seq = (*model)->NewSequence(0);
  std::vector<int32_t> prompt;
  // 40 rows: more than kMaxKernelRows, so the prefill runs OpenBLAS sgemm.
  const int n_prompt = 40;
  for (int p = 0; p < n_prompt; ++p) {
    prompt.push_back((p * 13 + 1) % cfg.vocab_size);
  }
  // Prefill (sgemm) and a decode step (our kernel) against the oracle.
  auto prefill = (*model)->Forward(seq.get(), prompt);
  REQUIRE(prefill.ok());
  std::vector<float> want;
  for (int p = 0; p < n_prompt; ++p) want = ref.Forward(prompt[p], p);
  REQUIRE(MaxRelErr(*prefill, want) <= 1e-4);
  auto step = (*model)->Forward(seq.get(), {7});
  REQUIRE(step.ok());
  REQUIRE(MaxRelErr(*step, ref.Forward(7, n_prompt)) <= 1e-4);
}

TEST_CASE("OpenBLAS runs a non-generic core on an AVX2 CPU", "[model][blas]") {
  const std::string core = BlasCoreName();
  INFO("OpenBLAS core " << core << ", preferred " << PreferredBlasCore()
                        << ", OPENBLAS_CORETYPE="
                        << (std::getenv("OPENBLAS_CORETYPE")
                                ? std::getenv("OPENBLAS_CORETYPE")
                                : "(unset)"));
  if (!PreferredBlasCore().empty() &&
      std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    // What EnsureOpenBlasCore would fix: report it clearly.
    CHECK_FALSE(IsGenericBlasCore(core));
  }
  CHECK(IsGenericBlasCore("Prescott"));
  // The decision table of EnsureOpenBlasCore.
  CHECK(BlasCoreToForce(nullptr, "Prescott", "SkylakeX") == "SkylakeX");
  CHECK(BlasCoreToForce(nullptr, "Prescott", "Haswell") == "Haswell");
  CHECK(BlasCoreToForce(nullptr, "Prescott", "") == "");  // no AVX2
  CHECK(BlasCoreToForce("Prescott", "Prescott", "SkylakeX") == "");
  CHECK(BlasCoreToForce(nullptr, "Cooperlake", "SkylakeX") == "");
  CHECK(BlasCoreToForce(nullptr, "Haswell", "SkylakeX") == "");
  CHECK_FALSE(IsGenericBlasCore("Haswell"));
  CHECK_FALSE(IsGenericBlasCore("SkylakeX"));
  CheckBlasResults();
}

// Run only inside the re-executed child below (hidden tag).
TEST_CASE("blas child: results under the preferred core", "[.blas_child]") {
  const char* want = std::getenv("FM_EXPECT_CORE");
  REQUIRE(want != nullptr);
  // Set by ReexecWithBlasCore, not by the parent.
  REQUIRE(std::getenv("FM_BLAS_REEXEC") != nullptr);
  REQUIRE(std::getenv("OPENBLAS_CORETYPE") == std::string(want));
  CHECK(BlasCoreName() == want);
  CheckBlasResults();
}

TEST_CASE(
    "the re-exec switches OpenBLAS to the chosen core, results stay right",
    "[model][blas]") {
  const std::string preferred = PreferredBlasCore();
  if (preferred.empty()) {
    ::fm::testing::ReportSkip("CPU has no AVX2: no core to force");
    return;
  }
  // Both cores this CPU can run, so the child's core differs from the one
  // this process inherited for at least one of them.
  std::vector<std::string> cores = {preferred};
  if (preferred != "Haswell") cores.push_back("Haswell");
  for (const std::string& core : cores) {
    INFO("core " << core << ", this process runs " << BlasCoreName());
    // A child that calls the re-exec exactly as EnsureOpenBlasCore does,
    // running this binary's hidden child test in the new image.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::unsetenv("OPENBLAS_CORETYPE");
      ::unsetenv("FM_BLAS_REEXEC");
      ::setenv("FM_EXPECT_CORE", core.c_str(), 1);
      char arg0[] = "blas_child";
      char arg1[] = "[.blas_child]";
      char arg2[] = "--warn";  // fail, not pass, if the tag matched nothing
      char arg3[] = "NoTests";
      char* argv[] = {arg0, arg1, arg2, arg3, nullptr};
      const absl::Status st = ReexecWithBlasCore(core, argv);
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

}  // namespace
}  // namespace fm::model::testing
