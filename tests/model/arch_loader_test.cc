// Hostile and unsupported files for the architectures and weight types:
// every wrong, missing, extra or unimplemented key or tensor is refused at
// load with a message naming it, never loaded into a model that computes
// something else.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include <cstdlib>

#include "absl/strings/match.h"
#include "services/model/checkpoint.h"
#include "tests/model/arch_model.h"
#include "tests/model/model_test_util.h"

namespace fm::model::testing {
namespace {

absl::Status LoadBytes(const std::string& bytes) {
  const std::string path = TempPath("hostile_arch.gguf");
  REQUIRE(WriteFile(path, bytes).ok());
  return LoadCheckpoint(path).status();
}

void ExpectRejected(const absl::Status& s, const std::string& needle) {
  INFO("status: " << s.ToString() << "; expected to mention '" << needle
                  << "'");
  REQUIRE_FALSE(s.ok());
  CHECK((s.code() == absl::StatusCode::kDataLoss ||
         s.code() == absl::StatusCode::kInvalidArgument));
  CHECK(absl::StrContains(s.message(), needle));
}

ArchModel Model(Arch arch) {
  ArchConfig c;
  c.arch = arch;
  return MakeRandomArchModel(c, 3);
}

GgufWriter Gguf(const ArchModel& m) {
  return MakeArchGguf(m, UniformPlan(GgmlType::kF32));
}

TEST_CASE("the written files load (the baseline of the refusals below)",
          "[model][arch][loader]") {
  for (Arch arch : {Arch::kLlama, Arch::kQwen2, Arch::kQwen3, Arch::kGemma2,
                    Arch::kGemma3}) {
    INFO(ArchName(arch));
    CHECK(LoadBytes(Gguf(Model(arch)).Serialize()).ok());
  }
}

TEST_CASE("an architecture that is not implemented is refused by name",
          "[model][arch][loader]") {
  GgufWriter w;
  w.AddString("general.architecture", "falcon");
  std::vector<float> embd(64 * 96, 0.1f);
  w.AddTensor("token_embd.weight", {64, 96}, GgmlType::kF32, embd.data());
  ExpectRejected(LoadBytes(w.Serialize()),
                 "architecture 'falcon' is not supported (llama, qwen2, "
                 "qwen3, gemma2, gemma3)");
}

TEST_CASE("keys an architecture does not implement are refused by name",
          "[model][arch][loader]") {
  {
    GgufWriter w = Gguf(Model(Arch::kLlama));
    w.AddString("llama.rope.scaling.type", "yarn");
    ExpectRejected(LoadBytes(w.Serialize()),
                   "'llama.rope.scaling.type' = 'yarn' is not implemented");
  }
  {
    // Qwen 2's sliding window is off in every released model; a file that
    // turns it on would need it.
    GgufWriter w = Gguf(Model(Arch::kQwen2));
    w.AddUint32("qwen2.attention.sliding_window", 4096);
    ExpectRejected(LoadBytes(w.Serialize()),
                   "'qwen2.attention.sliding_window' is not implemented for "
                   "architecture 'qwen2'");
  }
  {
    GgufWriter w = Gguf(Model(Arch::kLlama));
    w.AddUint32("llama.expert_count", 8);
    ExpectRejected(LoadBytes(w.Serialize()), "'llama.expert_count' = 8");
  }
  {
    GgufWriter w = Gguf(Model(Arch::kGemma3));
    w.AddFloat32("gemma3.attn_logit_softcapping", 50.0f);
    ExpectRejected(LoadBytes(w.Serialize()),
                   "'gemma3.attn_logit_softcapping' is not implemented");
  }
}

TEST_CASE("absurd hyperparameters are refused naming key, value and range",
          "[model][arch][loader]") {
  {
    ArchConfig c;
    c.rope_linear_factor = 1e9f;
    ExpectRejected(LoadBytes(Gguf(MakeRandomArchModel(c, 3)).Serialize()),
                   "'llama.rope.scaling.factor' = 1e+09 is outside");
  }
  {
    GgufWriter w = Gguf(Model(Arch::kLlama));
    w.AddFloat32("llama.rope.scaling.factor", 2.0f);
    ExpectRejected(LoadBytes(w.Serialize()),
                   "without rope.scaling.type = linear");
  }
  {
    GgufWriter w = Gguf(Model(Arch::kLlama));
    w.AddUint32("llama.attention.sliding_window", 4294967293u);
    ExpectRejected(LoadBytes(w.Serialize()),
                   "'llama.attention.sliding_window' = 4294967293 is outside");
  }
  {
    TinyConfig c;
    c.n_kv_heads = 3;  // does not divide 4 query heads
    ExpectRejected(
        LoadBytes(MakeGguf(MakeRandomTinyModel(c, 3), GgmlType::kF32)
                      .Serialize()),
        "n_heads = 4 is not a multiple of n_kv_heads = 3");
  }
}

TEST_CASE("Llama 3 RoPE factors must be usable", "[model][arch][loader]") {
  ArchConfig c;
  c.rope_freq_factors = true;
  ArchModel m = MakeRandomArchModel(c, 3);
  m.rope_freqs[3] = 0.0f;
  ExpectRejected(LoadBytes(Gguf(m).Serialize()),
                 "rope_freqs.weight[3] = 0 is outside (0, 10000]");
  m.rope_freqs[3] = 1e30f;
  ExpectRejected(LoadBytes(Gguf(m).Serialize()), "rope_freqs.weight[3]");
  // Of the wrong length (head_size 16: 8 factors, not 6).
  ArchModel plain = Model(Arch::kLlama);
  GgufWriter w = Gguf(plain);
  std::vector<float> six(6, 2.0f);
  w.AddTensor("rope_freqs.weight", {6}, GgmlType::kF32, six.data());
  ExpectRejected(LoadBytes(w.Serialize()),
                 "tensor rope_freqs has shape (1, 6), expected (1, 8)");
}

TEST_CASE("missing and extra tensors are refused by name",
          "[model][arch][loader]") {
  {
    ArchModel m = Model(Arch::kQwen2);
    m.layers[1].bk.clear();
    ExpectRejected(LoadBytes(Gguf(m).Serialize()),
                   "GGUF tensor blk.1.attn_k.bias is missing");
  }
  {
    ArchModel m = Model(Arch::kGemma3);
    m.layers[0].post_ffw_norm.clear();
    ExpectRejected(LoadBytes(Gguf(m).Serialize()),
                   "GGUF tensor blk.0.post_ffw_norm.weight is missing");
  }
  {
    // Llama with Qwen 3's q-norm: would be ignored, so it is refused.
    ArchModel m = Model(Arch::kLlama);
    GgufWriter w = Gguf(m);
    std::vector<float> norm(16, 1.0f);
    w.AddTensor("blk.0.attn_q_norm.weight", {16}, GgmlType::kF32, norm.data());
    ExpectRejected(LoadBytes(w.Serialize()),
                   "GGUF tensor blk.0.attn_q_norm.weight is not part of "
                   "architecture 'llama'");
  }
  {
    // A layer beyond block_count.
    ArchModel m = Model(Arch::kLlama);
    GgufWriter w = Gguf(m);
    std::vector<float> norm(64, 1.0f);
    w.AddTensor("blk.2.attn_norm.weight", {64}, GgmlType::kF32, norm.data());
    ExpectRejected(LoadBytes(w.Serialize()), "blk.2.attn_norm.weight");
  }
}

TEST_CASE("quantized tensors whose sizes do not fit their type are refused",
          "[model][arch][loader]") {
  {
    // Q4_K rows of 64: not a whole 256-weight block.
    GgufWriter w = Gguf(Model(Arch::kLlama));
    w.AddRawTensor("blk.0.extra", {64, 2}, 12, std::string(2 * 144, '\0'));
    ExpectRejected(LoadBytes(w.Serialize()),
                   "is Q4_K but ne[0] = 64 is not a multiple of its block "
                   "size 256");
  }
  {
    // A Q6_K matrix whose data runs past the end of the file.
    ArchConfig c;
    c.dim = 256;
    c.hidden_dim = 256;
    std::string bytes =
        MakeArchGguf(MakeRandomArchModel(c, 3), UniformPlan(GgmlType::kQ6_K))
            .Serialize();
    bytes.resize(bytes.size() - 100);
    ExpectRejected(LoadBytes(bytes), "is not within the file");
  }
  {
    // A norm stored quantized: vectors must be F32.
    ArchModel m = Model(Arch::kLlama);
    GgufWriter base = MakeArchGguf(m, [](const std::string& name, uint64_t) {
      return name == "output_norm.weight" ? GgmlType::kQ8_0 : GgmlType::kF32;
    });
    ExpectRejected(LoadBytes(base.Serialize()),
                   "tensor rms_final has unsupported dtype Q8_0 (vectors "
                   "must be F32)");
  }
}

}  // namespace
}  // namespace fm::model::testing

namespace fm::model::testing {
namespace {

// Not run by default: writes the seed corpus of the GGUF model fuzz target
// (tests/fuzz/corpus/gguf_model) into $FM_FUZZ_SEED_DIR. One small file per
// architecture and weight type; the K types on a 256-wide model whose
// other dimensions are 8, so each seed stays a few KiB.
TEST_CASE("write the GGUF model fuzz seeds", "[.fuzz_seeds]") {
  const char* dir = std::getenv("FM_FUZZ_SEED_DIR");
  REQUIRE(dir != nullptr);
  struct Seed {
    const char* name;
    Arch arch;
    GgmlType type;
    bool wide;  // 256-wide (K types)
  };
  const Seed seeds[] = {
      {"llama_f32", Arch::kLlama, GgmlType::kF32, false},
      {"llama3_bf16", Arch::kLlama, GgmlType::kBF16, false},
      {"qwen2_q4_0", Arch::kQwen2, GgmlType::kQ4_0, false},
      {"qwen3_f16", Arch::kQwen3, GgmlType::kF16, false},
      {"gemma2_q5_1", Arch::kGemma2, GgmlType::kQ5_1, false},
      {"gemma3_q8_0", Arch::kGemma3, GgmlType::kQ8_0, false},
      {"llama_q4_1", Arch::kLlama, GgmlType::kQ4_1, false},
      {"qwen2_q5_0", Arch::kQwen2, GgmlType::kQ5_0, false},
      {"llama_q2_k", Arch::kLlama, GgmlType::kQ2_K, true},
      {"qwen3_q3_k", Arch::kQwen3, GgmlType::kQ3_K, true},
      {"gemma3_q4_k_m", Arch::kGemma3, GgmlType::kQ4_K, true},
      {"llama_q5_k", Arch::kLlama, GgmlType::kQ5_K, true},
      {"qwen2_q6_k", Arch::kQwen2, GgmlType::kQ6_K, true},
  };
  for (const Seed& s : seeds) {
    ArchConfig c;
    c.arch = s.arch;
    c.vocab_size = 8;
    c.context_length = 8;
    c.n_layers = s.arch == Arch::kGemma3 || s.arch == Arch::kGemma2 ? 2 : 1;
    if (s.wide) {
      c.dim = 256, c.hidden_dim = 8, c.n_heads = 1, c.n_kv_heads = 1;
      c.head_size = 8;
    } else {
      c.dim = s.type == GgmlType::kF32 || s.type == GgmlType::kF16 ||
                      s.type == GgmlType::kBF16
                  ? 16
                  : 32;
      c.hidden_dim = c.dim, c.n_heads = 2, c.n_kv_heads = 1;
    }
    if (s.arch == Arch::kGemma3 || s.arch == Arch::kGemma2) {
      c.sliding_window = 2;
    }
    if (std::string(s.name) == "llama3_bf16") {
      c.rope_freq_factors = true;
      c.tied_embeddings = false;
      c.rope_theta = 500000.0f;
    }
    const TypePlan plan = std::string(s.name) == "gemma3_q4_k_m"
                              ? KQuantMixPlan(s.type)
                              : UniformPlan(s.type);
    const ArchModel m = MakeRandomArchModel(c, 1);
    const std::string path = std::string(dir) + "/" + s.name + ".gguf";
    REQUIRE(MakeArchGguf(m, plan).Write(path).ok());
    // Every seed is a model that loads.
    CHECK(LoadCheckpoint(path).ok());
  }
}

}  // namespace
}  // namespace fm::model::testing
