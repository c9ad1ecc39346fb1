// Forward-pass tests on tiny random models: the library against the scalar
// llama2.c oracle, and the KV-cache operations against plain recomputation.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "services/model/half_kernel.h"
#include "services/model/llama_model.h"
#include "tests/model/model_test_util.h"
#include "tests/model/reference_forward.h"
#include "tests/model/tiny_model_writer.h"

namespace fm::model::testing {
namespace {

// Library vs the scalar oracle (BLAS summation order differs).
constexpr double kReferenceTolerance = 1e-4;
// A prefill of more than kMaxKernelRows rows goes through OpenBLAS sgemm,
// which sums in another order than our one-row kernel: equal within
// rounding only (measured max 2.2e-7 relative). Batched decode steps are
// bit-exact (see below).
constexpr double kBatchOrderTolerance = 1e-6;
// Q8_0 weights (and Q8 activations) against F32, and F16 weights against
// F32: measured 1.2e-2 and 4.5e-4 on these models; the bounds leave margin.
constexpr double kQ8Tolerance = 3e-2;
constexpr double kF16Tolerance = 3e-3;

std::unique_ptr<LlamaModel> LoadOrDie(const std::string& path, int threads) {
  auto model = LlamaModel::Load(path, threads);
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  return std::move(*model);
}

std::unique_ptr<LlamaModel> WriteAndLoad(const TinyModel& m,
                                         const std::string& name, GgmlType type,
                                         int threads) {
  const std::string path = TempPath(name);
  REQUIRE(WriteGguf(m, path, type).ok());
  return LoadOrDie(path, threads);
}

// Logits after each token, fed one at a time.
std::vector<std::vector<float>> StepByStep(LlamaModel& model,
                                           const std::vector<int32_t>& tokens) {
  auto seq = model.NewSequence(0);
  std::vector<std::vector<float>> out;
  for (int32_t t : tokens) {
    auto logits = model.Forward(seq.get(), {t});
    REQUIRE(logits.ok());
    out.push_back(*logits);
  }
  return out;
}

// The worst relative error, over all positions, of decoding `tokens` one at
// a time against the scalar reference.
double WorstErrorVsReference(LlamaModel& model, const TinyModel& m,
                             const std::vector<int32_t>& tokens) {
  ReferenceTransformer ref(m);
  const auto got = StepByStep(model, tokens);
  double worst = 0.0;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    const auto want = ref.Forward(tokens[pos], static_cast<int>(pos));
    worst = std::max(worst, MaxRelErr(got[pos], want));
  }
  return worst;
}

TEST_CASE("forward matches the scalar llama2.c reference", "[model][forward]") {
  struct Case {
    const char* name;
    TinyConfig c;
  };
  TinyConfig gqa;
  TinyConfig mha;
  mha.n_kv_heads = mha.n_heads;
  mha.shared_classifier = false;
  TinyConfig wide;
  wide.dim = 96;
  wide.n_heads = 6;
  wide.n_kv_heads = 2;
  wide.hidden_dim = 160;
  wide.n_layers = 3;
  for (const Case& k :
       {Case{"gqa", gqa}, Case{"mha", mha}, Case{"wide", wide}}) {
    for (int threads : {1, 2}) {
      INFO(k.name << " threads=" << threads);
      const TinyModel m = MakeRandomTinyModel(k.c, 11);
      const std::string path = TempPath(std::string(k.name) + ".bin");
      REQUIRE(WriteLlama2cLegacy(m, path).ok());
      auto model = LoadOrDie(path, threads);
      const double worst = WorstErrorVsReference(
          *model, m, Tokens(k.c.seq_len, k.c.vocab_size, 1));
      INFO("max relative error " << worst);
      CHECK(worst <= kReferenceTolerance);
    }
  }
}

TEST_CASE("partial RoPE and another freq_base match the reference",
          "[model][forward]") {
  // GGUF's llama.rope.dimension_count below head_size: only the first
  // rope_dim dimensions of each head rotate, with theta^(-i / rope_dim).
  TinyConfig c;
  c.dim = 128;
  c.n_heads = 4;  // head_size 32
  c.n_kv_heads = 2;
  c.hidden_dim = 160;
  c.rope_theta = 500000.0f;
  for (int rope_dim : {32, 16, 2}) {
    c.rope_dim = rope_dim;
    INFO("rope_dim " << rope_dim);
    const TinyModel m = MakeRandomTinyModel(c, 21);
    const std::string path = TempPath("partial_rope.gguf");
    REQUIRE(WriteGguf(m, path, GgmlType::kF32).ok());
    auto model = LoadOrDie(path, 2);
    REQUIRE(model->info().rope_dim == rope_dim);
    const double worst =
        WorstErrorVsReference(*model, m, Tokens(c.seq_len, c.vocab_size, 3));
    INFO("max relative error " << worst);
    CHECK(worst <= kReferenceTolerance);
  }
  // A partial rotation really changes the logits (the test can fail).
  c.rope_dim = 16;
  const TinyModel partial = MakeRandomTinyModel(c, 21);
  c.rope_dim = 0;
  const TinyModel full = MakeRandomTinyModel(c, 21);
  ReferenceTransformer ref_partial(partial), ref_full(full);
  std::vector<float> a, b;
  for (int pos = 0; pos < 4; ++pos) {
    a = ref_partial.Forward(5 + pos, pos);
    b = ref_full.Forward(5 + pos, pos);
  }
  CHECK(MaxRelErr(a, b) > 1e-3);
}

TEST_CASE("prefill then decode equals token at a time", "[model][forward]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 21);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kQ8_0}) {
    auto model = WriteAndLoad(m, "prefill.gguf", type, 1);
    const auto tokens = Tokens(30, m.config.vocab_size, 2);
    const auto step = StepByStep(*model, tokens);

    auto seq = model->NewSequence(0);
    std::vector<float> all;
    ForwardItem prefill{seq.get(), absl::MakeConstSpan(tokens.data(), 20), true,
                        &all};
    REQUIRE(model->Forward({prefill}).ok());
    REQUIRE(all.size() == 20u * m.config.vocab_size);
    for (int p = 0; p < 20; ++p) {
      std::vector<float> row(all.begin() + p * m.config.vocab_size,
                             all.begin() + (p + 1) * m.config.vocab_size);
      CHECK(MaxRelErr(row, step[p]) <= kBatchOrderTolerance);
    }
    for (int p = 20; p < 30; ++p) {
      auto logits = model->Forward(seq.get(), {tokens[p]});
      REQUIRE(logits.ok());
      CHECK(MaxRelErr(*logits, step[p]) <= kBatchOrderTolerance);
    }
    CHECK(seq->size() == 30);
  }
}

TEST_CASE("a prompt longer than one pass is split correctly",
          "[model][forward]") {
  TinyConfig c;
  c.seq_len = 600;  // more than the 256 rows of one pass
  const TinyModel m = MakeRandomTinyModel(c, 4);
  const std::string path = TempPath("long.bin");
  REQUIRE(WriteLlama2cLegacy(m, path).ok());
  auto model = LoadOrDie(path, 2);
  ReferenceTransformer ref(m);
  const auto tokens = Tokens(560, c.vocab_size, 9);
  std::vector<float> want;
  for (size_t p = 0; p < tokens.size(); ++p) {
    want = ref.Forward(tokens[p], static_cast<int>(p));
  }
  auto seq = model->NewSequence(0);
  auto got = model->Forward(seq.get(), tokens);
  REQUIRE(got.ok());
  CHECK(MaxRelErr(*got, want) <= kReferenceTolerance);
}

TEST_CASE("fork then continue equals an independent sequence", "[model][kv]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 31);
  auto model = WriteAndLoad(m, "fork.gguf", GgmlType::kF32, 1);
  const auto prefix = Tokens(12, m.config.vocab_size, 3);
  const auto tail_a = Tokens(6, m.config.vocab_size, 4);
  const auto tail_b = Tokens(6, m.config.vocab_size, 5);

  auto cache = model->NewKvCache(4);
  auto s0 = cache->Create(0);
  REQUIRE(s0.ok());
  REQUIRE(model->Forward(*s0, prefix).ok());
  auto s1 = cache->Fork(0, 1);
  REQUIRE(s1.ok());
  CHECK((*s1)->size() == 12);
  auto fork_a = model->Forward(*s0, tail_a);
  auto fork_b = model->Forward(*s1, tail_b);
  REQUIRE(fork_a.ok());
  REQUIRE(fork_b.ok());

  for (const auto* tail : {&tail_a, &tail_b}) {
    auto fresh = model->NewSequence(9);
    REQUIRE(model->Forward(fresh.get(), prefix).ok());
    auto want = model->Forward(fresh.get(), *tail);
    REQUIRE(want.ok());
    // Same operations in the same order: bit-identical.
    CHECK(*want == (tail == &tail_a ? *fork_a : *fork_b));
  }
  // A partial fork (prefix of 5 positions).
  auto s2 = cache->Fork(0, 2, 5);
  REQUIRE(s2.ok());
  CHECK((*s2)->size() == 5);
}

TEST_CASE("truncate and redo equals the original", "[model][kv]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 41);
  auto model = WriteAndLoad(m, "trunc.gguf", GgmlType::kF32, 1);
  const auto tokens = Tokens(25, m.config.vocab_size, 6);
  auto seq = model->NewSequence(0);
  REQUIRE(
      model->Forward(seq.get(), absl::MakeConstSpan(tokens.data(), 20)).ok());
  auto original =
      model->Forward(seq.get(), absl::MakeConstSpan(tokens.data() + 20, 5));
  REQUIRE(original.ok());
  REQUIRE(seq->Truncate(20).ok());
  CHECK(seq->size() == 20);
  // Write something else at the truncated positions first.
  REQUIRE(model->Forward(seq.get(), {3, 4, 5}).ok());
  REQUIRE(seq->Truncate(20).ok());
  auto redo =
      model->Forward(seq.get(), absl::MakeConstSpan(tokens.data() + 20, 5));
  REQUIRE(redo.ok());
  CHECK(*redo == *original);
  CHECK(seq->Truncate(26).code() == absl::StatusCode::kOutOfRange);
  CHECK(seq->Truncate(-1).code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("sequences batched together give the logits each gets alone",
          "[model][batch]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 51);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kQ8_0}) {
    for (int threads : {1, 2}) {
      INFO("type " << static_cast<int>(type) << " threads " << threads);
      auto model = WriteAndLoad(m, "batch.gguf", type, threads);
      const int vocab = m.config.vocab_size;
      const auto pa = Tokens(7, vocab, 7), pb = Tokens(13, vocab, 8);
      const auto pc = Tokens(3, vocab, 9);
      // Alone: each prefill, then one decode step each.
      auto a = model->NewSequence(0), b = model->NewSequence(1),
           c = model->NewSequence(2);
      auto la = model->Forward(a.get(), pa);
      auto lb = model->Forward(b.get(), pb);
      auto lc = model->Forward(c.get(), pc);
      REQUIRE(la.ok());
      REQUIRE(lb.ok());
      REQUIRE(lc.ok());
      auto da = model->Forward(a.get(), {5});
      auto db = model->Forward(b.get(), {6});
      REQUIRE(da.ok());
      REQUIRE(db.ok());

      // Decode steps batched, after the same prefills: batches of up to
      // kMaxKernelRows rows run through kernels (F32 and Q8_0) that compute
      // each (row, output) dot product the same way whatever else is in the
      // batch, so the logits are exactly equal.
      auto a2 = model->NewSequence(0), b2 = model->NewSequence(1);
      REQUIRE(model->Forward(a2.get(), pa).ok());
      REQUIRE(model->Forward(b2.get(), pb).ok());
      const int32_t t5 = 5, t6 = 6;
      std::vector<float> oa, ob;
      std::vector<ForwardItem> decode = {
          {a2.get(), absl::MakeConstSpan(&t5, 1), false, &oa},
          {b2.get(), absl::MakeConstSpan(&t6, 1), false, &ob}};
      REQUIRE(model->Forward(decode).ok());
      CHECK(oa == *da);
      CHECK(ob == *db);

      // Prefills of different lengths batched (23 rows): F32 goes through
      // sgemm there, so equal within rounding; Q8_0 stays exact.
      auto a3 = model->NewSequence(0), b3 = model->NewSequence(1),
           c3 = model->NewSequence(2);
      std::vector<float> pa_out, pb_out, pc_out, sa, sb;
      std::vector<ForwardItem> prefill = {
          {a3.get(), absl::MakeConstSpan(pa), false, &pa_out},
          {b3.get(), absl::MakeConstSpan(pb), false, &pb_out},
          {c3.get(), absl::MakeConstSpan(pc), false, &pc_out}};
      REQUIRE(model->Forward(prefill).ok());
      std::vector<ForwardItem> step = {
          {a3.get(), absl::MakeConstSpan(&t5, 1), false, &sa},
          {b3.get(), absl::MakeConstSpan(&t6, 1), false, &sb}};
      REQUIRE(model->Forward(step).ok());
      const double tol = type == GgmlType::kQ8_0 ? 0.0 : kBatchOrderTolerance;
      CHECK(MaxRelErr(pa_out, *la) <= tol);
      CHECK(MaxRelErr(pb_out, *lb) <= tol);
      CHECK(MaxRelErr(pc_out, *lc) <= tol);
      CHECK(MaxRelErr(sa, *da) <= tol);
      CHECK(MaxRelErr(sb, *db) <= tol);
      CHECK(a3->size() == 8);
      CHECK(b3->size() == 14);
      CHECK(c3->size() == 3);
    }
  }
}

TEST_CASE("batched decode of 16 sequences equals decoding them one by one",
          "[model][batch]") {
  const TinyModel m = MakeRandomTinyModel(TinyConfig{}, 61);
  auto model = WriteAndLoad(m, "b16.gguf", GgmlType::kF32, 2);
  const int vocab = m.config.vocab_size;
  auto cache = model->NewKvCache(16);
  std::vector<std::vector<float>> alone;
  std::vector<int32_t> next(16);
  for (int s = 0; s < 16; ++s) {
    auto seq = cache->Create(s);
    REQUIRE(seq.ok());
    REQUIRE(model->Forward(*seq, Tokens(2 + s, vocab, s)).ok());
    next[s] = (s * 7) % vocab;
    auto fresh = model->NewSequence(100 + s);
    REQUIRE(model->Forward(fresh.get(), Tokens(2 + s, vocab, s)).ok());
    auto l = model->Forward(fresh.get(), {next[s]});
    REQUIRE(l.ok());
    alone.push_back(*l);
  }
  std::vector<std::vector<float>> out(16);
  std::vector<ForwardItem> items;
  for (int s = 0; s < 16; ++s) {
    items.push_back(
        {cache->Find(s), absl::MakeConstSpan(&next[s], 1), false, &out[s]});
  }
  REQUIRE(model->Forward(items).ok());
  for (int s = 0; s < 16; ++s) CHECK(out[s] == alone[s]);
  CHECK(cache->num_sequences() == 16);
}

TEST_CASE("bad token ids and context overflow are rejected without effect",
          "[model][forward]") {
  TinyConfig c;
  const TinyModel m = MakeRandomTinyModel(c, 71);
  auto model = WriteAndLoad(m, "err.gguf", GgmlType::kF32, 1);
  auto seq = model->NewSequence(3);
  REQUIRE(model->Forward(seq.get(), {1, 2, 3}).ok());

  auto bad = model->Forward(seq.get(), {4, c.vocab_size});
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "token id 96"));
  CHECK(absl::StrContains(bad.status().message(), "vocab_size = 96"));
  CHECK(model->Forward(seq.get(), {-1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(model->Forward(seq.get(), {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(seq->size() == 3);

  // Past the context: OUT_OF_RANGE, the sequence unchanged and usable.
  std::vector<int32_t> too_many(c.seq_len - 2, 1);
  auto past = model->Forward(seq.get(), too_many);
  CHECK(past.status().code() == absl::StatusCode::kOutOfRange);
  CHECK(absl::StrContains(past.status().message(), "seq_len = 48"));
  CHECK(seq->size() == 3);
  auto fresh = model->NewSequence(4);
  REQUIRE(model->Forward(fresh.get(), {1, 2, 3}).ok());
  auto ok1 = model->Forward(seq.get(), {9});
  auto ok2 = model->Forward(fresh.get(), {9});
  REQUIRE(ok1.ok());
  CHECK(*ok1 == *ok2);

  // One bad item fails the whole batch, and no sequence moves.
  std::vector<float> o1, o2;
  const int32_t good = 5, wrong = 1000;
  std::vector<ForwardItem> items = {
      {seq.get(), absl::MakeConstSpan(&good, 1), false, &o1},
      {fresh.get(), absl::MakeConstSpan(&wrong, 1), false, &o2}};
  CHECK(model->Forward(items).code() == absl::StatusCode::kInvalidArgument);
  CHECK(seq->size() == 4);
  CHECK(fresh->size() == 4);
  // The same sequence twice in one batch.
  items[1].seq = seq.get();
  items[1].tokens = absl::MakeConstSpan(&good, 1);
  CHECK(model->Forward(items).code() == absl::StatusCode::kInvalidArgument);
  // Null output.
  ForwardItem no_out{seq.get(), absl::MakeConstSpan(&good, 1), false, nullptr};
  CHECK(model->Forward({no_out}).code() == absl::StatusCode::kInvalidArgument);
  // Exactly filling the context is fine; one more is not.
  auto full = model->NewSequence(5);
  std::vector<int32_t> fill(c.seq_len, 2);
  REQUIRE(model->Forward(full.get(), fill).ok());
  CHECK(model->Forward(full.get(), {1}).status().code() ==
        absl::StatusCode::kOutOfRange);
}

TEST_CASE("KV cache bookkeeping", "[model][kv]") {
  TinyConfig c;
  c.seq_len = 2048;
  const TinyModel m = MakeRandomTinyModel(c, 81);
  auto model = WriteAndLoad(m, "kv.gguf", GgmlType::kF32, 1);
  auto cache = model->NewKvCache(16);
  for (int s = 0; s < 16; ++s) REQUIRE(cache->Create(s).ok());
  // Nothing is allocated until tokens arrive.
  CHECK(cache->allocated_bytes() == 0);
  CHECK(cache->Create(16).status().code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(cache->Create(3).status().code() == absl::StatusCode::kAlreadyExists);
  REQUIRE(model->Forward(cache->Find(0), {1, 2, 3}).ok());
  // One sequence of 3 tokens holds far less than the full context.
  CHECK(cache->allocated_bytes() <
        static_cast<uint64_t>(model->info().kv_bytes_per_token) * 64);
  CHECK(cache->Fork(0, 17).status().code() ==
        absl::StatusCode::kResourceExhausted);
  REQUIRE(cache->Drop(15).ok());
  CHECK(cache->Drop(15).code() == absl::StatusCode::kNotFound);
  CHECK(cache->Fork(99, 15).status().code() == absl::StatusCode::kNotFound);
  CHECK(cache->Fork(0, 15, 4).status().code() == absl::StatusCode::kOutOfRange);
  auto f = cache->Fork(0, 15, 2);
  REQUIRE(f.ok());
  CHECK((*f)->size() == 2);
  CHECK(cache->Truncate(0, 1).ok());
  CHECK(cache->Find(0)->size() == 1);
  CHECK(cache->Truncate(42, 0).code() == absl::StatusCode::kNotFound);
  CHECK(cache->num_sequences() == 16);
}

TEST_CASE("Q8_0 and F16 weights stay close to F32", "[model][quant]") {
  TinyConfig c;
  c.shared_classifier = false;
  const TinyModel m = MakeRandomTinyModel(c, 91);
  auto f32 = WriteAndLoad(m, "q_f32.gguf", GgmlType::kF32, 1);
  auto q8 = WriteAndLoad(m, "q_q8.gguf", GgmlType::kQ8_0, 2);
  auto f16 = WriteAndLoad(m, "q_f16.gguf", GgmlType::kF16, 1);
  CHECK(q8->info().dtype == "Q8_0");
  CHECK(q8->info().compute_dtype == "Q8_0");
  CHECK(f16->info().dtype == "F16");
  // F16 matrices stay F16 in memory where the half kernel runs (AVX2).
  CHECK(f16->info().compute_dtype == (HasHalfKernel() ? "F16" : "F32"));
  if (HasHalfKernel()) {
    CHECK(f16->info().weight_bytes < f32->info().weight_bytes * 6 / 10);
  }
  CHECK(q8->info().weight_bytes < f32->info().weight_bytes / 3);
  const auto tokens = Tokens(20, c.vocab_size, 10);
  const auto a = StepByStep(*f32, tokens);
  const auto b = StepByStep(*q8, tokens);
  const auto h = StepByStep(*f16, tokens);
  double worst_q8 = 0.0, worst_f16 = 0.0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    worst_q8 = std::max(worst_q8, MaxRelErr(b[p], a[p]));
    worst_f16 = std::max(worst_f16, MaxRelErr(h[p], a[p]));
  }
  INFO("Q8_0 " << worst_q8 << ", F16 " << worst_f16);
  CHECK(worst_q8 <= kQ8Tolerance);
  CHECK(worst_f16 <= kF16Tolerance);
  CHECK(worst_q8 > 0.0);  // it really is quantized
}

}  // namespace
}  // namespace fm::model::testing
