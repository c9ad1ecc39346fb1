// Loader tests: the llama2.c (legacy, v1) and GGUF loaders agree on the same
// random model, and malformed files of every kind are rejected clearly.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "services/model/checkpoint.h"
#include "services/model/gguf_loader.h"
#include "services/model/llama_model.h"
#include "tests/model/model_test_util.h"
#include "tests/model/tiny_model_writer.h"

namespace fm::model::testing {
namespace {

// Same weights in two formats: logits must agree to this relative error
// (they are in fact bit-identical; the bound leaves room for BLAS order).
constexpr double kLoaderTolerance = 1e-5;

std::vector<float> LogitsAfter(LlamaModel& model,
                               const std::vector<int32_t>& tokens) {
  auto seq = model.NewSequence(0);
  std::vector<float> logits;
  for (int32_t t : tokens) {
    auto out = model.Forward(seq.get(), {t});
    REQUIRE(out.ok());
    logits = *out;
  }
  return logits;
}

absl::Status LoadStatus(const std::string& bytes, const std::string& name) {
  const std::string path = TempPath(name);
  REQUIRE(WriteFile(path, bytes).ok());
  auto ckpt = LoadCheckpoint(path);
  return ckpt.status();
}

// Expects `s` to be an error of one of the given codes whose message
// contains `needle`.
void ExpectRejected(const absl::Status& s, absl::string_view needle) {
  INFO("status: " << s.ToString() << "; expected to mention '"
                  << std::string(needle) << "'");
  REQUIRE_FALSE(s.ok());
  CHECK((s.code() == absl::StatusCode::kDataLoss ||
         s.code() == absl::StatusCode::kInvalidArgument));
  CHECK(absl::StrContains(s.message(), needle));
}

TEST_CASE("llama2.c legacy, llama2.c v1 and GGUF F32 give the same logits",
          "[model][loader]") {
  for (bool shared : {true, false}) {
    TinyConfig c;
    c.shared_classifier = shared;
    const TinyModel m = MakeRandomTinyModel(c, 7);
    const std::string legacy = TempPath("m_legacy.bin");
    const std::string v1 = TempPath("m_v1.bin");
    const std::string gguf = TempPath("m.gguf");
    REQUIRE(WriteLlama2cLegacy(m, legacy).ok());
    REQUIRE(WriteLlama2cV1(m, v1).ok());
    REQUIRE(WriteGguf(m, gguf, GgmlType::kF32).ok());
    auto a = LlamaModel::Load(legacy, 1);
    auto b = LlamaModel::Load(v1, 1);
    auto g = LlamaModel::Load(gguf, 1);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(g.ok());
    CHECK((*a)->info().format == "llama2c-v0");
    CHECK((*b)->info().format == "llama2c-v1");
    CHECK((*g)->info().format == "gguf-v3");
    for (auto* model : {a->get(), b->get(), g->get()}) {
      const ModelInfo& i = model->info();
      CHECK(i.dim == c.dim);
      CHECK(i.hidden_dim == c.hidden_dim);
      CHECK(i.n_layers == c.n_layers);
      CHECK(i.n_heads == c.n_heads);
      CHECK(i.n_kv_heads == c.n_kv_heads);
      CHECK(i.vocab_size == c.vocab_size);
      CHECK(i.context_length == c.seq_len);
      CHECK(i.shared_classifier == shared);
      CHECK(i.dtype == "F32");
    }
    const std::vector<int32_t> tokens = {1, 5, 17, 42, 3, 95, 0};
    const auto la = LogitsAfter(**a, tokens);
    const auto lb = LogitsAfter(**b, tokens);
    const auto lg = LogitsAfter(**g, tokens);
    CHECK(MaxRelErr(lb, la) <= kLoaderTolerance);
    CHECK(MaxRelErr(lg, la) <= kLoaderTolerance);
  }
}

TEST_CASE("format is detected by magic, not by file name", "[model][loader]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 3);
  const std::string misnamed_bin = TempPath("really_llama2c.gguf");
  const std::string misnamed_gguf = TempPath("really_gguf.bin");
  REQUIRE(WriteLlama2cLegacy(m, misnamed_bin).ok());
  REQUIRE(WriteGguf(m, misnamed_gguf, GgmlType::kF32).ok());
  auto a = LoadCheckpoint(misnamed_bin);
  auto b = LoadCheckpoint(misnamed_gguf);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->format == "llama2c-v0");
  CHECK((*b)->format == "gguf-v3");
}

TEST_CASE("info reports sizes derived from the shapes", "[model][loader]") {
  TinyConfig c;
  c.shared_classifier = false;
  const TinyModel m = MakeRandomTinyModel(c, 5);
  const std::string path = TempPath("info.bin");
  REQUIRE(WriteLlama2cLegacy(m, path).ok());
  auto model = LlamaModel::Load(path, 1);
  REQUIRE(model.ok());
  const ModelInfo& i = (*model)->info();
  const int64_t kv_dim = m.kv_dim();
  const int64_t matrices =
      c.n_layers *
      (2ll * c.dim * c.dim + 2ll * kv_dim * c.dim + 3ll * c.hidden_dim * c.dim);
  const int64_t params =
      matrices + 2ll * c.vocab_size * c.dim + (2ll * c.n_layers + 1) * c.dim;
  CHECK(i.parameter_count == params);
  CHECK(i.weight_bytes == params * 4);
  CHECK(i.flops_per_token_prefill == 2 * matrices);
  CHECK(i.flops_per_token_decode == 2 * (matrices + c.vocab_size * c.dim));
  CHECK(i.kv_bytes_per_token == 2 * c.n_layers * kv_dim * 4);
  CHECK(i.attention_flops_per_position == 4ll * c.n_layers * c.dim);
  CHECK(i.head_size == c.dim / c.n_heads);
  CHECK(i.architecture == "llama");
  CHECK_FALSE(i.blas_core.empty());
}

TEST_CASE("llama2.c legacy header truncated at every field is DATA_LOSS",
          "[model][loader][malformed]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 1);
  const std::string path = TempPath("full.bin");
  REQUIRE(WriteLlama2cLegacy(m, path).ok());
  const std::string full = ReadFileBytes(path);
  const char* fields[] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                          "n_kv_heads", "vocab_size", "seq_len"};
  for (int f = 0; f < 7; ++f) {
    for (int extra = 0; extra < 4; ++extra) {
      const size_t cut = 4 * f + extra;
      if (cut == 0) continue;  // an empty file, below
      const absl::Status s = LoadStatus(full.substr(0, cut), "cut.bin");
      INFO("cut at " << cut);
      CHECK(s.code() == absl::StatusCode::kDataLoss);
      CHECK(absl::StrContains(s.message(), fields[f]));
    }
  }
  ExpectRejected(LoadStatus("", "empty.bin"), "empty");
  // Cut inside the weights: names the tensor that runs past the end.
  ExpectRejected(LoadStatus(full.substr(0, 28 + 100), "cut_w.bin"),
                 "token_embedding");
  ExpectRejected(LoadStatus(full.substr(0, full.size() - 4), "cut_end.bin"),
                 "freq_cis");
  // Bytes after the last tensor: the header does not describe this file.
  ExpectRejected(LoadStatus(full + std::string(8, '\0'), "long.bin"),
                 "after the last tensor");
}

TEST_CASE("llama2.c v1 header truncated at every field is DATA_LOSS",
          "[model][loader][malformed]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 1);
  const std::string path = TempPath("full_v1.bin");
  REQUIRE(WriteLlama2cV1(m, path).ok());
  const std::string full = ReadFileBytes(path);
  struct Cut {
    size_t at;
    const char* field;
  } cuts[] = {{5, "version"},     {9, "dim"},      {13, "hidden_dim"},
              {17, "n_layers"},   {21, "n_heads"}, {25, "n_kv_heads"},
              {29, "vocab_size"}, {33, "seq_len"}, {36, "shared_classifier"},
              {100, "padding"},   {300, "rms_att"}};
  for (const Cut& c : cuts) {
    INFO("cut at " << c.at);
    ExpectRejected(LoadStatus(full.substr(0, c.at), "cut_v1.bin"), c.field);
  }
  std::string bad_version = full;
  bad_version[4] = 2;
  ExpectRejected(LoadStatus(bad_version, "v2.bin"), "version 2");
}

std::string LegacyHeader(std::vector<int32_t> h) {
  std::string out(reinterpret_cast<const char*>(h.data()), h.size() * 4);
  out.append(4096, '\0');
  return out;
}

TEST_CASE("absurd llama2.c dimensions are INVALID_ARGUMENT",
          "[model][loader][malformed]") {
  // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
  ExpectRejected(
      LoadStatus(LegacyHeader({1 << 30, 96, 2, 4, 2, 96, 48}), "a.bin"),
      "dim = 1073741824");
  ExpectRejected(LoadStatus(LegacyHeader({64, 96, -1, 4, 2, 96, 48}), "a.bin"),
                 "n_layers = -1");
  ExpectRejected(LoadStatus(LegacyHeader({64, 96, 2, 5, 5, 96, 48}), "a.bin"),
                 "not a multiple of n_heads");
  ExpectRejected(LoadStatus(LegacyHeader({64, 96, 2, 4, 3, 96, 48}), "a.bin"),
                 "n_kv_heads");
  ExpectRejected(
      LoadStatus(LegacyHeader({64, 96, 2, 4, 2,
                               std::numeric_limits<int32_t>::min(), 48}),
                 "a.bin"),
      "vocab_size");
  ExpectRejected(LoadStatus(LegacyHeader({64, 96, 2, 4, 2, 96, 0}), "a.bin"),
                 "seq_len = 0");
  // Plausible dims whose weights are far larger than the file: DATA_LOSS,
  // and no allocation happens (the weights are only mapped).
  const absl::Status s = LoadStatus(
      LegacyHeader({8192, 28672, 80, 64, 8, 32000, 4096}), "big.bin");
  ExpectRejected(s, "past the end of the file");
  CHECK(s.code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("wrong magic is rejected", "[model][loader][malformed]") {
  ExpectRejected(LoadStatus("GGUX" + std::string(200, '\x7f'), "m.bin"),
                 "no magic");
  ExpectRejected(LoadStatus("abc", "m.bin"), "truncated");
  auto parsed = ParseGguf(reinterpret_cast<const uint8_t*>("GGUX\3\0\0\0"), 8);
  ExpectRejected(parsed.status(), "wrong magic");
}

// A valid GGUF for the tiny model; tests corrupt copies of it.
std::string TinyGgufBytes() {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 2);
  return MakeGguf(m, GgmlType::kF32).Serialize();
}

TEST_CASE("GGUF truncated anywhere before the data is rejected",
          "[model][loader][malformed]") {
  const std::string full = TinyGgufBytes();
  auto parsed =
      ParseGguf(reinterpret_cast<const uint8_t*>(full.data()), full.size());
  REQUIRE(parsed.ok());
  const uint64_t data_offset = parsed->data_offset;
  // Every byte boundary of the header, metadata and tensor table.
  for (uint64_t cut = 1; cut < data_offset; ++cut) {
    auto r = ParseGguf(reinterpret_cast<const uint8_t*>(full.data()), cut);
    INFO("cut at " << cut << ": " << r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kDataLoss);
    CHECK(!r.status().message().empty());
  }
  // Named fields at known offsets.
  ExpectRejected(LoadStatus(full.substr(0, 6), "t.gguf"), "GGUF version");
  ExpectRejected(LoadStatus(full.substr(0, 12), "t.gguf"), "tensor count");
  ExpectRejected(LoadStatus(full.substr(0, 20), "t.gguf"), "metadata count");
  ExpectRejected(LoadStatus(full.substr(0, 30), "t.gguf"), "metadata key #0");
  // Inside the tensor data: names the tensor.
  ExpectRejected(LoadStatus(full.substr(0, full.size() - 8), "t.gguf"),
                 "is not within the file");
}

TEST_CASE("GGUF with hostile counts, sizes and offsets is rejected",
          "[model][loader][malformed]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 2);
  const std::string full = TinyGgufBytes();
  auto put64 = [](std::string s, size_t at, uint64_t v) {
    std::memcpy(&s[at], &v, 8);
    return s;
  };
  // Header counts.
  ExpectRejected(LoadStatus(put64(full, 8, 1ull << 40), "t.gguf"),
                 "tensor count");
  ExpectRejected(LoadStatus(put64(full, 16, ~0ull), "t.gguf"),
                 "metadata count");
  // First key's string length.
  ExpectRejected(LoadStatus(put64(full, 24, ~0ull), "t.gguf"), "string length");
  {
    std::string v1 = full;
    v1[4] = 1;
    ExpectRejected(LoadStatus(v1, "t.gguf"), "version 1");
  }
  {
    // Overflowing element count: ne = {2^40, 2^40}.
    GgufWriter w = MakeGguf(m, GgmlType::kF32);
    w.AddRawTensor("huge", {1ull << 40, 1ull << 40}, 0, "");
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "overflows");
  }
  {
    // Plausible element count, data past the end of the file.
    GgufWriter w = MakeGguf(m, GgmlType::kF32);
    w.AddRawTensor("far", {1ull << 30}, 0, "");
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "tensor far data");
  }
  {
    GgufWriter w = MakeGguf(m, GgmlType::kF32);
    // IQ4_NL (20): a real ggml type this service does not implement.
    w.AddRawTensor("iq4", {32}, 20, std::string(18, '\0'));
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "ggml type 20");
  }
  {
    GgufWriter w = MakeGguf(m, GgmlType::kF32);
    w.AddRawTensor("five_d", {1, 1, 1, 1, 1}, 0, std::string(4, '\0'));
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "n_dims = 5");
  }
  {
    GgufWriter w = MakeGguf(m, GgmlType::kF32);
    w.AddRawTensor("blk.0.attn_q.weight", {64, 64}, 0,
                   std::string(64 * 64 * 4, '\0'));
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "appears twice");
  }
  {
    GgufWriter w = MakeGguf(m, GgmlType::kF32);
    w.AddUint32("llama.embedding_length", 64);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "appears twice");
  }
}

TEST_CASE("GGUF with wrong metadata or tensor shapes is rejected",
          "[model][loader][malformed]") {
  TinyConfig c;
  const TinyModel m = MakeRandomTinyModel(c, 2);
  const std::vector<float> zeros(1 << 16, 0.0f);
  auto base = [&](const std::string& skip_key, uint32_t dim_value,
                  const std::string& arch) {
    GgufWriter w;
    if (skip_key != "general.architecture") {
      w.AddString("general.architecture", arch);
    }
    if (skip_key != "llama.context_length")
      w.AddUint32("llama.context_length", c.seq_len);
    w.AddUint32("llama.embedding_length", dim_value);
    w.AddUint32("llama.feed_forward_length", c.hidden_dim);
    w.AddUint32("llama.block_count", 1);
    w.AddUint32("llama.attention.head_count", c.n_heads);
    w.AddUint32("llama.attention.head_count_kv", c.n_kv_heads);
    return w;
  };
  auto add_layer = [&](GgufWriter* w, uint64_t q_rows) {
    const uint64_t dim = c.dim, hidden = c.hidden_dim, kv = m.kv_dim();
    w->AddTensor("token_embd.weight", {dim, 96}, GgmlType::kF32, zeros.data());
    w->AddTensor("output_norm.weight", {dim}, GgmlType::kF32, zeros.data());
    w->AddTensor("blk.0.attn_norm.weight", {dim}, GgmlType::kF32, zeros.data());
    w->AddTensor("blk.0.attn_q.weight", {dim, q_rows}, GgmlType::kF32,
                 zeros.data());
    w->AddTensor("blk.0.attn_k.weight", {dim, kv}, GgmlType::kF32,
                 zeros.data());
    w->AddTensor("blk.0.attn_v.weight", {dim, kv}, GgmlType::kF32,
                 zeros.data());
    w->AddTensor("blk.0.attn_output.weight", {dim, dim}, GgmlType::kF32,
                 zeros.data());
    w->AddTensor("blk.0.ffn_norm.weight", {dim}, GgmlType::kF32, zeros.data());
    w->AddTensor("blk.0.ffn_gate.weight", {dim, hidden}, GgmlType::kF32,
                 zeros.data());
    w->AddTensor("blk.0.ffn_down.weight", {hidden, dim}, GgmlType::kF32,
                 zeros.data());
    w->AddTensor("blk.0.ffn_up.weight", {dim, hidden}, GgmlType::kF32,
                 zeros.data());
  };
  {
    GgufWriter w = base("", c.dim, "llama");
    add_layer(&w, c.dim);
    REQUIRE(LoadStatus(w.Serialize(), "ok.gguf").ok());
  }
  {
    GgufWriter w = base("", c.dim, "llama");
    add_layer(&w, c.dim + 1);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"),
                   "layer 0 wq has shape (65, 64), expected (64, 64)");
  }
  {
    GgufWriter w = base("", 0xffffffffu, "llama");
    add_layer(&w, c.dim);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"),
                   "llama.embedding_length");
  }
  {
    GgufWriter w = base("llama.context_length", c.dim, "llama");
    add_layer(&w, c.dim);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"),
                   "'llama.context_length' is missing");
  }
  {
    GgufWriter w = base("", c.dim, "gpt2");
    add_layer(&w, c.dim);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "'gpt2'");
  }
  {
    GgufWriter w = base("general.architecture", c.dim, "llama");
    add_layer(&w, c.dim);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "general.architecture");
  }
  {
    GgufWriter w = base("", c.dim, "llama");
    add_layer(&w, c.dim);
    w.AddUint32("llama.block_count", 2);  // duplicate key, and a 2nd layer
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"), "appears twice");
  }
  {
    // Two layers declared, one present: names the missing tensor.
    GgufWriter w;
    w.AddString("general.architecture", "llama");
    w.AddUint32("llama.context_length", c.seq_len);
    w.AddUint32("llama.embedding_length", c.dim);
    w.AddUint32("llama.feed_forward_length", c.hidden_dim);
    w.AddUint32("llama.block_count", 2);
    w.AddUint32("llama.attention.head_count", c.n_heads);
    add_layer(&w, c.dim);
    ExpectRejected(LoadStatus(w.Serialize(), "t.gguf"),
                   "blk.1.attn_norm.weight is missing");
  }
}

TEST_CASE("randomly corrupted headers never crash the loader",
          "[model][loader][malformed]") {
  // Byte flips in the header and tensor table of a GGUF and in the header
  // of llama2.c files: each load either fails with a status or yields a
  // model whose forward pass runs (values may be garbage, memory is safe).
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 4);
  const std::string gguf = MakeGguf(m, GgmlType::kQ8_0).Serialize();
  auto parsed =
      ParseGguf(reinterpret_cast<const uint8_t*>(gguf.data()), gguf.size());
  REQUIRE(parsed.ok());
  const std::string legacy_path = TempPath("fuzz_legacy.bin");
  const std::string v1_path = TempPath("fuzz_v1.bin");
  REQUIRE(WriteLlama2cLegacy(m, legacy_path).ok());
  REQUIRE(WriteLlama2cV1(m, v1_path).ok());
  struct Target {
    std::string bytes;
    uint64_t header_bytes;
  } targets[] = {{gguf, parsed->data_offset},
                 {ReadFileBytes(legacy_path), 28},
                 {ReadFileBytes(v1_path), 37}};
  uint32_t rng = 99;
  auto next = [&rng] {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
  };
  int loaded = 0, rejected = 0;
  for (const Target& t : targets) {
    for (int iter = 0; iter < 300; ++iter) {
      std::string bytes = t.bytes;
      const int flips = 1 + next() % 3;
      for (int f = 0; f < flips; ++f) {
        bytes[next() % t.header_bytes] ^= static_cast<char>(1 + next() % 255);
      }
      const std::string path = TempPath("fuzz.bin");
      REQUIRE(WriteFile(path, bytes).ok());
      auto model = LlamaModel::Load(path, 1);
      if (!model.ok()) {
        ++rejected;
        CHECK(!model.status().message().empty());
        continue;
      }
      ++loaded;
      auto seq = (*model)->NewSequence(0);
      auto logits = (*model)->Forward(seq.get(), {0, 1});
      CHECK(logits.ok());
    }
  }
  INFO("loaded " << loaded << ", rejected " << rejected);
  CHECK(rejected > 0);
}

}  // namespace
}  // namespace fm::model::testing
