// Every architecture and every weight type against the scalar oracle
// (arch_reference_forward.h): random-weight GGUF files as llama.cpp's
// converter writes them, loaded and run by the library, logits compared
// position by position; plus prefill, batching and fork equalities.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/model/kquant_matmul.h"
#include "services/model/llama_model.h"
#include "tests/model/arch_model.h"
#include "tests/model/arch_reference_forward.h"
#include "tests/model/model_test_util.h"

namespace fm::model::testing {
namespace {

// F32 (and F16/BF16, converted exactly at load) against the oracle: only
// the summation order differs (double in the oracle, float SIMD here).
constexpr double kReferenceTolerance = 1e-4;
// Types without an integer kernel are dequantized exactly and multiplied in
// F32, so against the oracle over the same dequantized weights they are as
// close as F32.
constexpr double kDequantizedTolerance = 1e-4;
// The integer kernels (Q8_0, Q4_0 and the K types where the CPU has them)
// multiply by quantized activations, as ggml does: each activation is
// rounded to 1/254 of its block's largest magnitude (blocks of 32, or 256
// for the K types), ~0.4% of a dot product's scale per matrix
// (quant_formats_test); through the layers of these models that gives
// 1-2% of the logit scale (measured up to 1.7e-2); the bound leaves margin.
constexpr double kQ8ActivationTolerance = 4e-2;

// Whether this CPU multiplies type t with quantized activations.
bool QuantizesActivations(GgmlType t) {
  DType d;
  REQUIRE(DTypeFromGgml(static_cast<uint32_t>(t), &d));
  return ::fm::model::QuantizesActivations(d);
}
// Batched steps and prefill against one-at-a-time (same kernels; only the
// OpenBLAS prefill path sums in another order).
constexpr double kBatchTolerance = 1e-6;

std::unique_ptr<LlamaModel> WriteAndLoad(const ArchModel& m,
                                         const TypePlan& plan,
                                         const std::string& name,
                                         int threads) {
  const std::string path = TempPath(name);
  REQUIRE(MakeArchGguf(m, plan).Write(path).ok());
  auto model = LlamaModel::Load(path, threads);
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  return std::move(*model);
}

// The prompts of these tests (their own stream of model_test_util's).
std::vector<int32_t> Tokens(int n, int vocab, int seed) {
  return ::fm::model::testing::Tokens(n, vocab, seed, 777u);
}

// The worst relative logit error over `tokens` fed one at a time, library
// vs oracle over `oracle_model` (the weights the file really holds).
double WorstError(LlamaModel& model, const ArchModel& oracle_model,
                  const std::vector<int32_t>& tokens) {
  ArchReference ref(oracle_model);
  auto seq = model.NewSequence(0);
  double worst = 0.0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    auto got = model.Forward(seq.get(), {tokens[p]});
    REQUIRE(got.ok());
    const std::vector<float> want = ref.Forward(tokens[p], static_cast<int>(p));
    worst = std::max(worst, MaxRelErr(*got, want));
  }
  return worst;
}

struct Case {
  const char* name;
  ArchConfig config;
};

// One configuration per architecture and per optional feature, small
// enough for a fast test; windows shorter than the sequence so that the
// sliding layers really slide.
std::vector<Case> ArchitectureCases() {
  std::vector<Case> cases;
  ArchConfig c;
  c.context_length = 40;
  cases.push_back({"llama 2 (tied)", c});
  ArchConfig l3 = c;
  l3.rope_theta = 500000.0f;
  l3.rope_freq_factors = true;
  l3.tied_embeddings = false;
  l3.n_heads = 8;
  l3.n_kv_heads = 2;
  cases.push_back({"llama 3 (rope_freqs, untied, GQA 4:1)", l3});
  ArchConfig linear = c;
  linear.rope_linear_factor = 4.0f;
  cases.push_back({"llama, linear RoPE scaling", linear});
  ArchConfig mistral = c;
  mistral.sliding_window = 7;
  cases.push_back({"mistral (sliding window on every layer)", mistral});
  ArchConfig qwen2 = c;
  qwen2.arch = Arch::kQwen2;
  qwen2.rope_theta = 1000000.0f;
  cases.push_back({"qwen2 (biases, tied)", qwen2});
  qwen2.tied_embeddings = false;
  cases.push_back({"qwen2 (untied)", qwen2});
  ArchConfig qwen3 = c;
  qwen3.arch = Arch::kQwen3;
  qwen3.head_size = 32;  // q_dim 128 != dim 64, as Qwen3-0.6B
  cases.push_back({"qwen3 (q/k norms, head_size 32)", qwen3});
  ArchConfig gemma2 = c;
  gemma2.arch = Arch::kGemma2;
  gemma2.sliding_window = 6;
  gemma2.attn_softcap = 1.5f;  // small: a cap of 50 would not bite here
  gemma2.final_softcap = 3.0f;
  cases.push_back({"gemma2 (soft-caps, alternating windows)", gemma2});
  ArchConfig gemma3 = c;
  gemma3.arch = Arch::kGemma3;
  gemma3.n_layers = 7;  // layers 0-4 local, 5 global, 6 local
  gemma3.head_size = 32;
  gemma3.sliding_window = 5;
  gemma3.rope_theta = 1000000.0f;
  gemma3.rope_linear_factor = 8.0f;  // global layers only (Gemma 3 4B+)
  cases.push_back({"gemma3 (local/global, q/k norms, head_size 32)", gemma3});
  return cases;
}

TEST_CASE("every architecture matches the scalar oracle", "[model][arch]") {
  for (const Case& c : ArchitectureCases()) {
    INFO(c.name);
    const ArchModel m = MakeRandomArchModel(c.config, 17);
    for (int threads : {1, 2}) {
      auto model = WriteAndLoad(m, UniformPlan(GgmlType::kF32),
                                absl::StrCat("arch_", threads, ".gguf"),
                                threads);
      CHECK(model->info().architecture == ArchName(c.config.arch));
      const double worst = WorstError(
          *model, m, Tokens(c.config.context_length, c.config.vocab_size, 1));
      INFO("threads " << threads << ", max relative error " << worst);
      CHECK(worst <= kReferenceTolerance);
    }
  }
}

TEST_CASE("the architecture switches change the logits", "[model][arch]") {
  // Each feature really acts (so the equalities above can fail): the same
  // weights with the feature off give other logits after a few positions.
  for (const Case& c : ArchitectureCases()) {
    if (c.config.arch == Arch::kLlama && !c.config.rope_freq_factors &&
        c.config.rope_linear_factor == 0.0f && c.config.sliding_window == 0) {
      continue;  // the baseline
    }
    INFO(c.name);
    const ArchModel m = MakeRandomArchModel(c.config, 17);
    ArchModel as_llama = m;
    as_llama.config.arch = Arch::kLlama;
    as_llama.config.sliding_window = 0;
    as_llama.config.rope_linear_factor = 0.0f;
    as_llama.rope_freqs.clear();
    for (ArchLayer& l : as_llama.layers) {
      l.bq.clear(), l.bk.clear(), l.bv.clear();
      l.q_norm.clear(), l.k_norm.clear();
      l.post_attn_norm.clear(), l.post_ffw_norm.clear();
    }
    auto model = WriteAndLoad(m, UniformPlan(GgmlType::kF32), "sw.gguf", 1);
    const double diff = WorstError(
        *model, as_llama, Tokens(c.config.context_length, c.config.vocab_size, 1));
    CHECK(diff > 1e-2);
  }
}

TEST_CASE("every weight type matches the oracle over its own weights",
          "[model][arch][quant]") {
  // dim and hidden_dim multiples of 256, so the K types apply everywhere.
  ArchConfig c;
  c.dim = 256;
  c.hidden_dim = 512;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = 64;
  c.context_length = 12;
  for (Arch arch : {Arch::kLlama, Arch::kQwen3, Arch::kGemma3}) {
    c.arch = arch;
    c.tied_embeddings = arch != Arch::kLlama;
    const ArchModel m = MakeRandomArchModel(c, 5);
    for (GgmlType type : AllGgmlTypes()) {
      INFO(ArchName(arch) << " " << GgmlTypeName(type));
      const TypePlan plan = UniformPlan(type);
      auto model = WriteAndLoad(m, plan, "types.gguf", 2);
      CHECK(model->info().dtype == GgmlTypeName(type));
      const double worst =
          WorstError(*model, QuantizedCopy(m, plan),
                     Tokens(c.context_length, c.vocab_size, 2));
      INFO("max relative error " << worst);
      CHECK(worst <= (QuantizesActivations(type) ? kQ8ActivationTolerance
                                                 : kDequantizedTolerance));
    }
  }
}

TEST_CASE("Q4_K_M and Q5_K_M mixes load and match the oracle",
          "[model][arch][quant]") {
  ArchConfig c;
  c.dim = 256;
  c.hidden_dim = 512;
  c.vocab_size = 64;
  c.context_length = 12;
  c.tied_embeddings = false;
  const ArchModel m = MakeRandomArchModel(c, 8);
  for (GgmlType main : {GgmlType::kQ4_K, GgmlType::kQ5_K}) {
    INFO(GgmlTypeName(main));
    const TypePlan plan = KQuantMixPlan(main);
    auto model = WriteAndLoad(m, plan, "mix.gguf", 2);
    CHECK(model->info().compute_dtype ==
          absl::StrCat(GgmlTypeName(main), "+Q6_K"));
    const double worst = WorstError(*model, QuantizedCopy(m, plan),
                                    Tokens(c.context_length, c.vocab_size, 3));
    INFO("max relative error " << worst);
    CHECK(worst <= (QuantizesActivations(main) ? kQ8ActivationTolerance
                                               : kDequantizedTolerance));
  }
}

// Prefill of a whole prompt, and decode steps batched across sequences,
// equal the same tokens fed one at a time, for every architecture.
TEST_CASE("prefill and batched decode equal step by step for every "
          "architecture",
          "[model][arch][batch]") {
  for (const Case& c : ArchitectureCases()) {
    INFO(c.name);
    const ArchModel m = MakeRandomArchModel(c.config, 23);
    auto model = WriteAndLoad(m, UniformPlan(GgmlType::kF32), "batch.gguf", 2);
    const int vocab = c.config.vocab_size;
    const auto tokens = Tokens(24, vocab, 4);
    std::vector<std::vector<float>> step;
    {
      auto seq = model->NewSequence(0);
      for (int32_t t : tokens) {
        auto l = model->Forward(seq.get(), {t});
        REQUIRE(l.ok());
        step.push_back(*l);
      }
    }
    // Prefill 16 with all logits, then decode the rest.
    auto seq = model->NewSequence(1);
    std::vector<float> all;
    ForwardItem prefill{seq.get(), absl::MakeConstSpan(tokens.data(), 16),
                        true, &all};
    REQUIRE(model->Forward({prefill}).ok());
    for (int p = 0; p < 16; ++p) {
      std::vector<float> row(all.begin() + p * vocab,
                             all.begin() + (p + 1) * vocab);
      CHECK(MaxRelErr(row, step[p]) <= kBatchTolerance);
    }
    // Three sequences decoding together: the same prompt at different
    // offsets, so each row of the batch is at another position.
    std::vector<std::unique_ptr<KvSequence>> seqs;
    for (int s = 0; s < 3; ++s) {
      seqs.push_back(model->NewSequence(10 + s));
      auto l = model->Forward(seqs.back().get(),
                              absl::MakeConstSpan(tokens.data(), 4 + 3 * s));
      REQUIRE(l.ok());
    }
    for (int k = 0; k < 6; ++k) {
      std::vector<std::vector<float>> out(3);
      std::vector<ForwardItem> items;
      for (int s = 0; s < 3; ++s) {
        items.push_back(ForwardItem{
            seqs[s].get(), absl::MakeConstSpan(&tokens[4 + 3 * s + k], 1),
            false, &out[s]});
      }
      REQUIRE(model->Forward(items).ok());
      for (int s = 0; s < 3; ++s) {
        CHECK(MaxRelErr(out[s], step[4 + 3 * s + k]) <= kBatchTolerance);
      }
    }
  }
}

TEST_CASE("a forked sequence continues like an independent one for every "
          "architecture",
          "[model][arch][kv]") {
  for (const Case& c : ArchitectureCases()) {
    INFO(c.name);
    const ArchModel m = MakeRandomArchModel(c.config, 29);
    auto model = WriteAndLoad(m, UniformPlan(GgmlType::kF32), "fork.gguf", 1);
    const auto prefix = Tokens(10, c.config.vocab_size, 5);
    const auto tail = Tokens(8, c.config.vocab_size, 6);
    auto base = model->NewSequence(0);
    REQUIRE(model->Forward(base.get(), prefix).ok());
    auto forked = base->Fork(1, base->size());
    REQUIRE(forked.ok());
    auto fresh = model->NewSequence(2);
    std::vector<int32_t> whole = prefix;
    whole.insert(whole.end(), tail.begin(), tail.end());
    auto want = model->Forward(fresh.get(), whole);
    auto got = model->Forward(forked->get(), tail);
    REQUIRE(want.ok());
    REQUIRE(got.ok());
    CHECK(MaxRelErr(*got, *want) <= kBatchTolerance);
  }
}

}  // namespace
}  // namespace fm::model::testing

namespace fm::model::testing {
namespace {

TEST_CASE("ctx_size caps the served context, and Info describes the file",
          "[model][arch][info]") {
  ArchConfig c;
  c.arch = Arch::kGemma3;
  c.n_layers = 7;
  c.head_size = 32;
  c.sliding_window = 5;
  c.context_length = 40;
  const ArchModel m = MakeRandomArchModel(c, 3);
  const std::string path = TempPath("info.gguf");
  REQUIRE(MakeArchGguf(m, UniformPlan(GgmlType::kQ8_0)).Write(path).ok());
  LoadOptions options;
  options.threads = 1;
  options.ctx_size = 16;
  auto model = LlamaModel::Load(path, options);
  REQUIRE(model.ok());
  const ModelInfo& info = (*model)->info();
  CHECK(info.context_length == 16);
  CHECK(info.file_context_length == 40);
  CHECK(info.architecture == "gemma3");
  CHECK(info.head_size == 32);
  CHECK(info.hyperparameters.at("q_dim") == "128");
  CHECK(info.hyperparameters.at("rope_style") == "halves");
  CHECK(info.hyperparameters.at("ffn_activation") == "gelu_tanh");
  CHECK(info.hyperparameters.at("qk_norm") == "yes");
  CHECK(info.hyperparameters.at("sliding_layers") == "6 of 7");
  CHECK(info.hyperparameters.at("rope_theta_swa") == "10000");
  // 7 layers x 6 norms (attention, FFN, q, k, post-attention, post-FFN)
  // and the final norm: F32; every matrix (7 x 7) and the tied embedding:
  // Q8_0.
  CHECK(info.tensor_types.at("F32") == 7 * 6 + 1);
  CHECK(info.tensor_types.at("Q8_0") == 7 * 7 + 1);
  CHECK(info.bits_per_weight > 8.0);  // 8.5 for Q8_0, more with F32 norms
  CHECK(info.bits_per_weight < 9.0);
  // The cap is enforced: position 16 does not fit.
  auto seq = (*model)->NewSequence(0);
  std::vector<int32_t> tokens(16, 3);
  REQUIRE((*model)->Forward(seq.get(), tokens).ok());
  auto over = (*model)->Forward(seq.get(), {3});
  CHECK(over.status().code() == absl::StatusCode::kOutOfRange);
  // A ctx_size above the file's serves the file's.
  options.ctx_size = 1000;
  auto wide = LlamaModel::Load(path, options);
  REQUIRE(wide.ok());
  CHECK((*wide)->info().context_length == 40);
  options.ctx_size = -1;
  CHECK(LlamaModel::Load(path, options).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fm::model::testing

namespace fm::model::testing {
namespace {

TEST_CASE("an F16 KV cache: half the bytes, logits within half precision",
          "[model][arch][kv]") {
  for (const Case& c : ArchitectureCases()) {
    INFO(c.name);
    const ArchModel m = MakeRandomArchModel(c.config, 13);
    const std::string path = TempPath("kv16.gguf");
    REQUIRE(MakeArchGguf(m, UniformPlan(GgmlType::kF32)).Write(path).ok());
    LoadOptions f16;
    f16.threads = 2;
    f16.kv_dtype = KvDType::kF16;
    LoadOptions f32 = f16;
    f32.kv_dtype = KvDType::kF32;
    auto half = LlamaModel::Load(path, f16);
    auto full = LlamaModel::Load(path, f32);
    REQUIRE(half.ok());
    REQUIRE(full.ok());
    CHECK((*half)->info().kv_dtype == "f16");
    CHECK((*full)->info().kv_dtype == "f32");
    CHECK((*half)->info().kv_bytes_per_token * 2 ==
          (*full)->info().kv_bytes_per_token);
    // Keys and values rounded to 11 significant bits: ~2^-12 relative per
    // element, averaged over the positions attended; through the layers
    // well under 1e-2 of the logit scale (measured below 2e-3).
    const auto tokens = Tokens(c.config.context_length, c.config.vocab_size, 8);
    auto sh = (*half)->NewSequence(0);
    auto sf = (*full)->NewSequence(0);
    double worst = 0.0;
    for (int32_t t : tokens) {
      auto a = (*half)->Forward(sh.get(), {t});
      auto b = (*full)->Forward(sf.get(), {t});
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      worst = std::max(worst, MaxRelErr(*a, *b));
    }
    INFO("max relative error " << worst);
    CHECK(worst <= 1e-2);
    CHECK(sh->allocated_bytes() * 2 == sf->allocated_bytes());
    // A sequence of the other dtype is refused, not misread.
    auto wrong = (*full)->Forward(sh.get(), {tokens[0]});
    CHECK(wrong.status().code() == absl::StatusCode::kInvalidArgument);
    // Fork and truncate keep working on half-precision rows.
    auto forked = sh->Fork(5, 10);
    REQUIRE(forked.ok());
    REQUIRE(sh->Truncate(10).ok());
    auto x = (*half)->Forward(sh.get(), {tokens[3]});
    auto y = (*half)->Forward(forked->get(), {tokens[3]});
    REQUIRE(x.ok());
    REQUIRE(y.ok());
    CHECK(*x == *y);
  }
}

}  // namespace
}  // namespace fm::model::testing
