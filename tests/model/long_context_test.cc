// A 32,768-position context, as Llama 3 / Qwen files declare: the served
// context comes from the file, a whole prompt that long runs (in chunks),
// and the logits at the far end still match the scalar oracle (RoPE at
// large positions with Llama 3's base and factors, KV cache indexing, the
// sliding window's edge).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "services/model/llama_model.h"
#include "tests/model/arch_model.h"
#include "tests/model/arch_reference_forward.h"
#include "tests/model/model_test_util.h"

namespace fm::model::testing {
namespace {

TEST_CASE("a 32768-position context matches the oracle at its far end",
          "[model][arch][long]") {
  constexpr int kContext = 32768;
  constexpr int kChunk = 4096;  // prefill pieces
  constexpr int kTail = 4;      // decode steps compared one by one
  struct LongCase {
    const char* name;
    ArchConfig config;
  };
  // Tiny widths: the cost is attention over 32k positions (the oracle is
  // scalar), not the weights.
  ArchConfig llama3;
  llama3.dim = 8;
  llama3.hidden_dim = 16;
  llama3.n_layers = 1;
  llama3.n_heads = 2;
  llama3.n_kv_heads = 1;
  llama3.vocab_size = 32;
  llama3.context_length = kContext;
  llama3.rope_theta = 500000.0f;
  llama3.rope_freq_factors = true;
  ArchConfig mistral = llama3;
  mistral.rope_theta = 1000000.0f;
  mistral.rope_freq_factors = false;
  mistral.sliding_window = 4096;
  for (const LongCase& lc : {LongCase{"llama 3", llama3},
                             LongCase{"mistral, window 4096", mistral}}) {
    INFO(lc.name);
    const ArchModel m = MakeRandomArchModel(lc.config, 21);
    const std::string path = TempPath("long_context.gguf");
    REQUIRE(MakeArchGguf(m, UniformPlan(GgmlType::kF32)).Write(path).ok());
    LoadOptions options;
    options.threads = 2;
    options.kv_dtype = KvDType::kF32;  // exact, against the oracle
    auto loaded = LlamaModel::Load(path, options);
    REQUIRE(loaded.ok());
    LlamaModel& model = **loaded;
    CHECK(model.info().context_length == kContext);
    const std::vector<int32_t> tokens = Tokens(kContext, 32, 5, 91u);
    ArchReference ref(m);
    auto seq = model.NewSequence(0);
    int pos = 0;
    for (; pos + kChunk <= kContext - kTail; pos += kChunk) {
      const std::vector<int32_t> chunk(tokens.begin() + pos,
                                       tokens.begin() + pos + kChunk);
      REQUIRE(model.Forward(seq.get(), chunk).ok());
      for (int p = pos; p < pos + kChunk; ++p) ref.Forward(tokens[p], p);
    }
    if (pos < kContext - kTail) {
      const std::vector<int32_t> rest(tokens.begin() + pos,
                                      tokens.end() - kTail);
      REQUIRE(model.Forward(seq.get(), rest).ok());
      for (int p = pos; p < kContext - kTail; ++p) ref.Forward(tokens[p], p);
    }
    double worst = 0.0;
    for (int p = kContext - kTail; p < kContext; ++p) {
      auto got = model.Forward(seq.get(), {tokens[p]});
      REQUIRE(got.ok());
      worst = std::max(worst, MaxRelErr(*got, ref.Forward(tokens[p], p)));
    }
    INFO("worst relative logit error at positions 32764-32767: " << worst);
    CHECK(worst < 1e-4);
    // The context is full: one more position is refused, not wrapped.
    CHECK_FALSE(model.Forward(seq.get(), {tokens[0]}).ok());
  }
}

}  // namespace
}  // namespace fm::model::testing
