// The model holds its weights in memory once: a matrix re-laid at load
// (interleaved_layout.h) lives in the re-laid copy, and the file's pages it was
// made from leave the resident set.
#include <catch2/catch.hpp>
#include <string>

#include "common/process_stats.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/llama_model.h"
#include "tests/model/arch_model.h"
#include "tests/model/model_test_util.h"

namespace fm::model::testing {
namespace {

TEST_CASE("re-laid weights are resident once", "[model][memory]") {
  if (!HasInterleavedKernel(DType::kQ4_0)) {
    WARN("skipped: no interleaved Q4_0 kernel on this CPU (needs AVX2)");
    return;
  }
  // ~20 MB of Q4_0: large against what else a load allocates.
  ArchConfig c;
  c.dim = 512;
  c.hidden_dim = 1408;
  c.n_layers = 8;
  c.n_heads = 8;
  c.n_kv_heads = 8;
  c.vocab_size = 4096;
  c.context_length = 64;
  const std::string path = TempPath("resident.gguf");
  {
    const ArchModel m = MakeRandomArchModel(c, 5);
    REQUIRE(MakeArchGguf(m, UniformPlan(GgmlType::kQ4_0)).Write(path).ok());
  }
  const int64_t before = ResidentBytes();
  REQUIRE(before > 0);
  LoadOptions options;
  options.threads = 2;
  auto model = LlamaModel::Load(path, options);
  REQUIRE(model.ok());
  const int64_t grown = ResidentBytes() - before;
  const int64_t weights = (*model)->info().streamed_bytes_per_token;
  INFO("RSS grew by " << grown << " bytes for " << weights
                      << " bytes of re-laid weights");
  // The copy is resident (it was written at load) ...
  CHECK(grown >= weights * 9 / 10);
  // ... and the file's pages are not as well (they would double it); the
  // margin is the embedding rows and the load's own buffers.
  CHECK(grown <= weights * 11 / 10 + (4 << 20));
}

}  // namespace
}  // namespace fm::model::testing
