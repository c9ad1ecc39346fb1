// Random tiny Llama models and their serialisation in every format the
// loaders accept (GGUF through tests/support/gguf_writer).
#include "tests/model/tiny_model_writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace fm::model::testing {
namespace {

void Fill(std::mt19937& rng, std::vector<float>* v, size_t n, float center,
          float spread) {
  std::uniform_real_distribution<float> dist(-spread, spread);
  v->resize(n);
  for (size_t i = 0; i < n; ++i) (*v)[i] = center + dist(rng);
}

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void PutFloats(std::string* out, const std::vector<float>& v) {
  out->append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

}  // namespace

TinyModel MakeRandomTinyModel(const TinyConfig& c, uint32_t seed) {
  std::mt19937 rng(seed);
  TinyModel m;
  m.config = c;
  const size_t L = c.n_layers, dim = c.dim, hidden = c.hidden_dim;
  const size_t kv_dim = m.kv_dim(), vocab = c.vocab_size;
  const float a_dim = 1.0f / std::sqrt(static_cast<float>(dim));
  const float a_hidden = 1.0f / std::sqrt(static_cast<float>(hidden));
  Fill(rng, &m.token_embedding, vocab * dim, 0.0f, 1.0f);
  Fill(rng, &m.rms_att, L * dim, 1.0f, 0.2f);
  Fill(rng, &m.wq, L * dim * dim, 0.0f, a_dim);
  Fill(rng, &m.wk, L * kv_dim * dim, 0.0f, a_dim);
  Fill(rng, &m.wv, L * kv_dim * dim, 0.0f, a_dim);
  Fill(rng, &m.wo, L * dim * dim, 0.0f, a_dim);
  Fill(rng, &m.rms_ffn, L * dim, 1.0f, 0.2f);
  Fill(rng, &m.w1, L * hidden * dim, 0.0f, a_dim);
  Fill(rng, &m.w2, L * dim * hidden, 0.0f, a_hidden);
  Fill(rng, &m.w3, L * hidden * dim, 0.0f, a_dim);
  Fill(rng, &m.rms_final, dim, 1.0f, 0.2f);
  if (!c.shared_classifier) Fill(rng, &m.wcls, vocab * dim, 0.0f, a_dim);
  return m;
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

absl::Status WriteLlama2cLegacy(const TinyModel& m, const std::string& path) {
  const TinyConfig& c = m.config;
  if ((c.rope_dim != 0 && c.rope_dim != c.dim / c.n_heads) ||
      c.rope_theta != 10000.0f) {
    return absl::InvalidArgumentError(
        "llama2.c files cannot store rope_dim or rope_theta: write GGUF");
  }
  std::string out;
  Put<int32_t>(&out, c.dim);
  Put<int32_t>(&out, c.hidden_dim);
  Put<int32_t>(&out, c.n_layers);
  Put<int32_t>(&out, c.n_heads);
  Put<int32_t>(&out, c.n_kv_heads);
  Put<int32_t>(&out, c.shared_classifier ? c.vocab_size : -c.vocab_size);
  Put<int32_t>(&out, c.seq_len);
  for (const auto* v : {&m.token_embedding, &m.rms_att, &m.wq, &m.wk, &m.wv,
                        &m.wo, &m.rms_ffn, &m.w1, &m.w2, &m.w3, &m.rms_final}) {
    PutFloats(&out, *v);
  }
  // freq_cis_real and freq_cis_imag: (seq_len, head_size / 2) each, unused.
  const int head_size = c.dim / c.n_heads;
  out.append(static_cast<size_t>(c.seq_len) * head_size * 4, '\0');
  if (!c.shared_classifier) PutFloats(&out, m.wcls);
  return WriteFile(path, out);
}

absl::Status WriteLlama2cV1(const TinyModel& m, const std::string& path) {
  const TinyConfig& c = m.config;
  if ((c.rope_dim != 0 && c.rope_dim != c.dim / c.n_heads) ||
      c.rope_theta != 10000.0f) {
    return absl::InvalidArgumentError(
        "llama2.c files cannot store rope_dim or rope_theta: write GGUF");
  }
  std::string out;
  Put<uint32_t>(&out, 0x616b3432);
  Put<int32_t>(&out, 1);
  Put<int32_t>(&out, c.dim);
  Put<int32_t>(&out, c.hidden_dim);
  Put<int32_t>(&out, c.n_layers);
  Put<int32_t>(&out, c.n_heads);
  Put<int32_t>(&out, c.n_kv_heads);
  Put<int32_t>(&out, c.vocab_size);
  Put<int32_t>(&out, c.seq_len);
  Put<uint8_t>(&out, c.shared_classifier ? 1 : 0);
  out.resize(256, '\0');
  for (const auto* v :
       {&m.rms_att, &m.rms_ffn, &m.rms_final, &m.token_embedding, &m.wq, &m.wk,
        &m.wv, &m.wo, &m.w1, &m.w2, &m.w3}) {
    PutFloats(&out, *v);
  }
  if (!c.shared_classifier) PutFloats(&out, m.wcls);
  return WriteFile(path, out);
}

void GgufWriter::AddTensor(const std::string& name, std::vector<uint64_t> ne,
                           GgmlType type, const float* data) {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  AddRawTensor(name, std::move(ne), static_cast<uint32_t>(type),
               QuantizeReference(type, data, static_cast<int64_t>(n)));
}

GgufWriter MakeGguf(const TinyModel& m, GgmlType matrix_type,
                    int32_t context_length) {
  const TinyConfig& c = m.config;
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("general.name", "tiny-random");
  w.AddUint32("llama.context_length",
              context_length > 0 ? context_length : c.seq_len);
  w.AddUint32("llama.embedding_length", c.dim);
  w.AddUint32("llama.feed_forward_length", c.hidden_dim);
  w.AddUint32("llama.block_count", c.n_layers);
  w.AddUint32("llama.attention.head_count", c.n_heads);
  w.AddUint32("llama.attention.head_count_kv", c.n_kv_heads);
  w.AddUint32("llama.rope.dimension_count",
              c.rope_dim > 0 ? c.rope_dim : c.dim / c.n_heads);
  w.AddFloat32("llama.rope.freq_base", c.rope_theta);
  w.AddFloat32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  const uint64_t dim = c.dim, hidden = c.hidden_dim, kv_dim = m.kv_dim();
  auto type_for = [&](uint64_t cols) {
    if (cols % static_cast<uint64_t>(BlockElements(matrix_type)) != 0) {
      return GgmlType::kF32;
    }
    return matrix_type;
  };
  w.AddTensor("token_embd.weight", {dim, static_cast<uint64_t>(c.vocab_size)},
              type_for(dim), m.token_embedding.data());
  w.AddTensor("output_norm.weight", {dim}, GgmlType::kF32, m.rms_final.data());
  if (!c.shared_classifier) {
    w.AddTensor("output.weight", {dim, static_cast<uint64_t>(c.vocab_size)},
                type_for(dim), m.wcls.data());
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = absl::StrCat("blk.", l, ".");
    w.AddTensor(p + "attn_norm.weight", {dim}, GgmlType::kF32,
                m.rms_att.data() + l * dim);
    w.AddTensor(p + "attn_q.weight", {dim, dim}, type_for(dim),
                m.wq.data() + l * dim * dim);
    w.AddTensor(p + "attn_k.weight", {dim, kv_dim}, type_for(dim),
                m.wk.data() + l * kv_dim * dim);
    w.AddTensor(p + "attn_v.weight", {dim, kv_dim}, type_for(dim),
                m.wv.data() + l * kv_dim * dim);
    w.AddTensor(p + "attn_output.weight", {dim, dim}, type_for(dim),
                m.wo.data() + l * dim * dim);
    w.AddTensor(p + "ffn_norm.weight", {dim}, GgmlType::kF32,
                m.rms_ffn.data() + l * dim);
    w.AddTensor(p + "ffn_gate.weight", {dim, hidden}, type_for(dim),
                m.w1.data() + l * hidden * dim);
    w.AddTensor(p + "ffn_down.weight", {hidden, dim}, type_for(hidden),
                m.w2.data() + l * dim * hidden);
    w.AddTensor(p + "ffn_up.weight", {dim, hidden}, type_for(dim),
                m.w3.data() + l * hidden * dim);
  }
  return w;
}

absl::Status WriteGguf(const TinyModel& m, const std::string& path,
                       GgmlType matrix_type) {
  return MakeGguf(m, matrix_type).Write(path);
}

}  // namespace fm::model::testing
