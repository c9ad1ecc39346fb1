// The service's block formats against the independent scalar reference
// (ggml_quant_reference.h): dequantization bit for bit, the sizes, and the
// matrix products of every type against double-precision dot products.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "services/model/dequantize.h"
#include "services/model/dtype.h"
#include "services/model/huge_page_buffer.h"
#include "services/model/interleaved_matmul.h"
#include "services/model/interleaved_vnni.h"
#include "services/model/kquant_matmul.h"
#include "services/model/ops.h"
#include "services/model/thread_pool.h"
#include "tests/model/ggml_quant_reference.h"

namespace fm::model::testing {
namespace {

DType ToDType(GgmlType t) {
  DType d;
  REQUIRE(DTypeFromGgml(static_cast<uint32_t>(t), &d));
  return d;
}

std::vector<float> RandomFloats(size_t n, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-spread, spread);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Whether this CPU multiplies type t by an integer kernel with quantized
// activations (else: dequantized weights times float activations).
bool QuantizesActivations(GgmlType t) {
  return ::fm::model::QuantizesActivations(ToDType(t));
}

// The K types' kernels take 256-blocks of quantized inputs.
bool UsesQ8K(DType d) { return DTypeBlockElements(d) == 256; }

// A (rows, cols) matrix view of the reference's bytes q in type t.
Tensor MatrixOf(GgmlType t, const std::string& q, int64_t rows, int64_t cols) {
  Tensor tensor;
  tensor.dtype = ToDType(t);
  tensor.data = q.data();
  tensor.rows = rows;
  tensor.cols = cols;
  return tensor;
}

// Gives `tensor` its interleaved copy, kept in *storage, as a model does.
void Interleave(Tensor* tensor, HugePageBuffer* storage) {
  *storage = HugePageBuffer(
      InterleavedBytes(tensor->dtype, tensor->rows, tensor->cols));
  InterleaveForKernels(tensor->dtype, tensor->data, tensor->rows, tensor->cols,
                       storage->data());
  tensor->interleaved = storage->data();
}

// Every type with interleaved kernels.
std::vector<GgmlType> InterleavedTypes() {
  return {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
          GgmlType::kQ6_K, GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0,
          GgmlType::kQ4_1, GgmlType::kQ5_1};
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_CASE("every ggml type has the reference's block geometry",
          "[model][quant]") {
  for (GgmlType t : AllGgmlTypes()) {
    INFO(GgmlTypeName(t));
    const DType d = ToDType(t);
    CHECK(DTypeName(d) == GgmlTypeName(t));
    CHECK(DTypeBlockElements(d) == BlockElements(t));
    CHECK(DTypeBlockBytes(d) == BlockBytes(t));
    CHECK(DTypeBytes(d, 4 * BlockElements(t)) ==
          static_cast<uint64_t>(4 * BlockBytes(t)));
    if (BlockElements(t) > 1) {
      CHECK(DTypeBytes(d, BlockElements(t) + 1) == 0u);  // not whole blocks
    }
  }
  DType d;
  CHECK_FALSE(DTypeFromGgml(20, &d));  // IQ4_NL: not implemented
}

TEST_CASE("dequantization is bit-identical to the format's definition",
          "[model][quant]") {
  constexpr int64_t kN = 4 * 256;
  for (GgmlType t : AllGgmlTypes()) {
    INFO(GgmlTypeName(t));
    // Blocks from the reference quantizer, of data with a few outliers.
    std::vector<float> x = RandomFloats(kN, 3, 1.0f);
    x[7] = 9.0f, x[300] = -12.0f;
    const std::string q = QuantizeReference(t, x.data(), kN);
    std::vector<float> got(kN);
    DequantizeRow(ToDType(t), q.data(), got.data(), kN);
    CHECK(SameBits(got, DequantizeReference(t, q.data(), kN)));
    // Arbitrary bytes too (every bit pattern of quants, packed scales and
    // high bits), with the fp16/bf16 fields kept finite: a NaN's payload
    // need not survive two different computations.
    if (BlockElements(t) > 1) {
      std::mt19937 rng(11);
      std::string bytes(q.size(), '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      std::vector<float> a(kN);
      DequantizeRow(ToDType(t), bytes.data(), a.data(), kN);
      const std::vector<float> b = DequantizeReference(t, bytes.data(), kN);
      bool same = true;
      for (int64_t i = 0; i < kN; ++i) {
        const bool both_nan = std::isnan(a[i]) && std::isnan(b[i]);
        same &= both_nan ||
                std::memcmp(&a[i], &b[i], sizeof(float)) == 0;
      }
      CHECK(same);
    }
  }
}

// The largest |out - double-precision dot| over out (n, rows) = x (n, cols)
// times w (rows, cols)^T, and the largest |dot| (the scale it is relative to).
struct DotError {
  double worst = 0.0;
  double scale = 0.0;
};
DotError ErrorVsDoubleDots(const std::vector<float>& w,
                           const std::vector<float>& x,
                           const std::vector<float>& out, int64_t n,
                           int64_t rows, int64_t cols) {
  DotError e;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      double want = 0.0;
      for (int64_t k = 0; k < cols; ++k) {
        want += static_cast<double>(w[r * cols + k]) * x[i * cols + k];
      }
      e.worst = std::max(e.worst, std::fabs(want - out[i * rows + r]));
      e.scale = std::max(e.scale, std::fabs(want));
    }
  }
  return e;
}

// out (n, rows) through MatMul (the kernels the forward pass uses) against
// double dot products over the reference's dequantized rows.
TEST_CASE("matrix products of every type match double-precision dots",
          "[model][quant]") {
  constexpr int64_t kRows = 40, kCols = 512;
  ThreadPool pool(2);
  MatMulContext ctx;
  ctx.pool = &pool;
  for (GgmlType t : AllGgmlTypes()) {
    INFO(GgmlTypeName(t));
    const std::vector<float> w = RandomFloats(kRows * kCols, 5, 0.1f);
    const std::string q = QuantizeReference(t, w.data(), kRows * kCols);
    const std::vector<float> wd =
        DequantizeReference(t, q.data(), kRows * kCols);
    Tensor tensor = MatrixOf(t, q, kRows, kCols);
    // As a model runs it: re-laid where this CPU has an interleaved kernel.
    HugePageBuffer packed;
    if (HasInterleavedKernel(tensor.dtype)) Interleave(&tensor, &packed);
    for (int64_t n : {1, 3, 17}) {
      INFO("n = " << n);
      const std::vector<float> x = RandomFloats(n * kCols, 9 + n, 1.0f);
      std::vector<float> out(n * kRows);
      MatMul(tensor, x.data(), n, out.data(), &ctx);
      const DotError e = ErrorVsDoubleDots(wd, x, out, n, kRows, kCols);
      const double worst = e.worst, scale = e.scale;
      // The integer kernels quantize the activations (rounding each to
      // 1/254 of its block's largest magnitude, blocks of 32 or 256: well
      // under 1% of a dot's scale); the others multiply the exact
      // dequantized weights in float.
      const double tol = QuantizesActivations(t) ? 1e-2 : 1e-5;
      INFO("max error " << worst << " of scale " << scale);
      CHECK(worst <= tol * scale);
      // Each row's result does not depend on the batch around it (F32,
      // F16 and BF16 beyond kMaxKernelRows go to the prefill path, OpenBLAS
      // sgemm or the F32 kernel over widened rows, which sums otherwise).
      const bool float_type = t == GgmlType::kF32 || t == GgmlType::kF16 ||
                              t == GgmlType::kBF16;
      if (float_type && n > kMaxKernelRows) continue;
      std::vector<float> alone(kRows);
      MatMul(tensor, x.data() + (n - 1) * kCols, 1, alone.data(), &ctx);
      CHECK(std::memcmp(alone.data(), out.data() + (n - 1) * kRows,
                        sizeof(float) * kRows) == 0);
    }
    // The integer kernels exactly: against double dots of the reference's
    // weights with the activations as the kernel quantized them.
    if (QuantizesActivations(t)) {
      constexpr int64_t kN = 3;
      const std::vector<float> x = RandomFloats(kN * kCols, 41, 1.0f);
      std::vector<float> xq(kN * kCols);  // the quantized inputs, as floats
      if (UsesQ8K(ToDType(t))) {
        Q8KActivations a;
        a.Resize(kN, kCols);
        for (int64_t i = 0; i < kN; ++i) a.QuantizeRow(i, x.data() + i * kCols);
        for (int64_t k = 0; k < kN * kCols; ++k) xq[k] = a.qs[k] * a.d[k / 256];
      } else {
        Q8Activations a;
        a.Resize(kN, kCols);
        for (int64_t i = 0; i < kN; ++i) a.QuantizeRow(i, x.data() + i * kCols);
        for (int64_t k = 0; k < kN * kCols; ++k) xq[k] = a.qs[k] * a.d[k / 32];
      }
      std::vector<float> out(kN * kRows);
      MatMul(tensor, x.data(), kN, out.data(), &ctx);
      const DotError e = ErrorVsDoubleDots(wd, xq, out, kN, kRows, kCols);
      const double worst = e.worst, scale = e.scale;
      INFO("integer kernel vs its own quantized inputs: max error " << worst
           << " of scale " << scale);
      CHECK(worst <= 1e-5 * scale);
    }
    // ReadRow (the embedding lookup) is the row's dequantization.
    std::vector<float> row(kCols);
    ReadRow(tensor, 7, row.data());
    CHECK(SameBits(row, std::vector<float>(wd.begin() + 7 * kCols,
                                           wd.begin() + 8 * kCols)));
  }
}

// A NaN among the inputs makes the products NaN on every integer kernel,
// as it would in F32, rather than whatever its quantization made of it.
TEST_CASE("a NaN input makes every integer kernel's products NaN",
          "[model][quant]") {
  constexpr int64_t kRows = 16, kCols = 512;
  ThreadPool pool(1);
  MatMulContext ctx;
  ctx.pool = &pool;
  for (GgmlType t : AllGgmlTypes()) {
    if (!QuantizesActivations(t)) continue;
    INFO(GgmlTypeName(t));
    const std::vector<float> w = RandomFloats(kRows * kCols, 5, 0.1f);
    const std::string q = QuantizeReference(t, w.data(), kRows * kCols);
    Tensor tensor = MatrixOf(t, q, kRows, kCols);
    HugePageBuffer packed;
    for (bool interleaved : {false, true}) {
      if (interleaved) {
        if (!HasInterleavedKernel(tensor.dtype)) continue;
        Interleave(&tensor, &packed);
      }
      INFO("interleaved " << interleaved);
      std::vector<float> x = RandomFloats(2 * kCols, 8, 1.0f);
      x[kCols + 300] = std::nanf("");  // the second input only
      std::vector<float> out(2 * kRows);
      MatMul(tensor, x.data(), 2, out.data(), &ctx);
      for (int64_t r = 0; r < kRows; ++r) {
        CHECK(std::isfinite(out[r]));
        CHECK(std::isnan(out[kRows + r]));
      }
    }
  }
}

// The interleaved kernels (8 rows re-laid together) against double dots
// over the reference's weights and the kernel's own quantized inputs, with
// a last group cut short, for any batch and any row range: 43 rows are 6
// groups of 8 (3 of 16 where the VNNI kernels pair them), 37 rows 5 (the
// last one left alone).
TEST_CASE(
    "interleaved products of every integer type are exact for any "
    "batch and row range",
    "[model][quant]") {
  const int64_t kRows = GENERATE(43, 37);
  constexpr int64_t kCols = 768;
  INFO(kRows << " rows");
  for (GgmlType t : InterleavedTypes()) {
    INFO(GgmlTypeName(t));
    const DType dtype = ToDType(t);
    if (!HasInterleavedKernel(dtype)) {
      WARN("no interleaved kernel for " << GgmlTypeName(t)
                                        << " on this CPU (needs AVX2)");
      continue;
    }
    const std::vector<float> w = RandomFloats(kRows * kCols, 3, 0.1f);
    const std::string q = QuantizeReference(t, w.data(), kRows * kCols);
    const std::vector<float> wd =
        DequantizeReference(t, q.data(), kRows * kCols);
    const int64_t bytes = InterleavedBytes(dtype, kRows, kCols);
    // Interleaving moves bytes; a group's padding rows add whole blocks.
    const int64_t grown =  // per row of 768: 4 bytes per 256 weights
        t == GgmlType::kQ3_K || t == GgmlType::kQ4_K || t == GgmlType::kQ5_K
            ? 4 * 3
            : 0;
    const int64_t padded = (kRows + 7) / 8 * 8;  // whole groups
    REQUIRE(bytes == (static_cast<int64_t>(q.size()) / kRows + grown) * padded);
    HugePageBuffer packed(bytes);
    InterleaveRows(dtype, q.data(), kRows, kCols, packed.data());
    // 8 + 4 + 2 + 1: every input-batch width of every kernel set.
    constexpr int64_t kN = 15;
    const std::vector<float> x = RandomFloats(kN * kCols, 17, 1.0f);
    Q8KActivations ak;
    Q8Activations a32;
    // Spread copies too, for the AVX2 kernels wherever they run.
    ak.with_spread = a32.with_spread = true;
    ak.Resize(kN, kCols);
    a32.Resize(kN, kCols);
    std::vector<float> xq(kN * kCols);  // the inputs as the kernel sees them
    for (int64_t i = 0; i < kN; ++i) {
      ak.QuantizeRow(i, x.data() + i * kCols);
      a32.QuantizeRow(i, x.data() + i * kCols);
    }
    const bool k_type = UsesQ8K(dtype);
    for (int64_t k = 0; k < kN * kCols; ++k) {
      xq[k] = k_type ? ak.qs[k] * ak.d[k / 256] : a32.qs[k] * a32.d[k / 32];
    }
    // Every kernel set this CPU runs: AVX2, and AVX-512 VNNI where present.
    using Kernel =
        void (*)(DType, const void*, const Q8Activations&,
                 const Q8KActivations&, int64_t, int64_t, int64_t, float*);
    struct KernelSet {
      const char* name;
      Kernel kernel;
      const uint8_t* packed;  // the copy in the order it reads
    };
    std::vector<KernelSet> kernels = {
        {"avx2", &MatMulInterleavedAvx2, packed.data()}};
    HugePageBuffer reordered(bytes);
    if (HasInterleavedVnni()) {
      std::memcpy(reordered.data(), packed.data(), bytes);
      ReorderForVnni(dtype, reordered.data(), kRows, kCols);
      kernels.push_back(
          {"avx512vnni", &MatMulInterleavedVnni, reordered.data()});
    } else {
      WARN("no AVX-512 VNNI on this CPU: its interleaved kernels untested");
    }
    std::vector<float> first;  // the first kernel set's products
    for (const auto& [kernel_name, kernel, packed_data] : kernels) {
      INFO("kernels " << kernel_name);
      std::vector<float> out(kN * kRows, -1.0f);
      kernel(dtype, packed_data, a32, ak, kRows, 0, kRows, out.data());
      // Every kernel set computes the same integers and then the same
      // float operations: bit-identical products (so replicas on different
      // CPUs, and a batch against one input alone, agree).
      if (first.empty()) {
        first = out;
      } else {
        CHECK(SameBits(out, first));
      }
      const DotError e = ErrorVsDoubleDots(wd, xq, out, kN, kRows, kCols);
      const double worst = e.worst, scale = e.scale;
      INFO("max error " << worst << " of scale " << scale);
      CHECK(worst <= 1e-5 * scale);
      // Row ranges that cut groups (5 | 13 | 35 | the rest) store exactly
      // their rows, computed as in the whole range, and leave every other
      // row alone (another thread's).
      for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 5},
                            {5, 13},
                            {13, 35},
                            {35, kRows}}) {
        INFO("rows " << lo << " to " << hi);
        std::vector<float> piece(kN * kRows, -1.0f), expected = piece;
        for (int64_t i = 0; i < kN; ++i) {
          for (int64_t r = lo; r < hi; ++r) {
            expected[i * kRows + r] = out[i * kRows + r];
          }
        }
        kernel(dtype, packed_data, a32, ak, kRows, lo, hi, piece.data());
        CHECK(SameBits(piece, expected));
      }
      // One input alone (a batch of 1) is the same row of the batch.
      Q8KActivations one_k;
      Q8Activations one_32;
      one_k.with_spread = one_32.with_spread = true;
      one_k.Resize(1, kCols);
      one_32.Resize(1, kCols);
      one_k.QuantizeRow(0, x.data() + (kN - 1) * kCols);
      one_32.QuantizeRow(0, x.data() + (kN - 1) * kCols);
      std::vector<float> alone(kRows);
      kernel(dtype, packed_data, one_32, one_k, kRows, 0, kRows, alone.data());
      CHECK(SameBits(alone, std::vector<float>(out.begin() + (kN - 1) * kRows,
                                               out.end())));
    }
  }
}

// The two kernel sets at the int16 edge of the VNNI kernels' packed dots:
// every activation at +-127 (inputs of one magnitude) against weights of
// every type, including sub-blocks at their quants' extremes (constant
// rows quantize to the largest or the smallest quant).
TEST_CASE("the VNNI kernels equal the AVX2 ones at extreme activations",
          "[model][quant]") {
  if (!HasInterleavedVnni()) {
    WARN("no AVX-512 VNNI on this CPU: nothing to compare");
    return;
  }
  constexpr int64_t kRows = 16, kCols = 512;
  for (GgmlType t : InterleavedTypes()) {
    INFO(GgmlTypeName(t));
    const DType dtype = ToDType(t);
    std::vector<float> w = RandomFloats(kRows * kCols, 7, 0.1f);
    // Rows 0-3: constant positive, constant negative, alternating halves.
    for (int64_t c = 0; c < kCols; ++c) {
      w[c] = 0.1f;
      w[kCols + c] = -0.1f;
      w[2 * kCols + c] = (c / 16) % 2 == 0 ? 0.1f : -0.1f;
      w[3 * kCols + c] = c % 2 == 0 ? 0.1f : -0.0001f;
    }
    const std::string q = QuantizeReference(t, w.data(), kRows * kCols);
    const int64_t bytes = InterleavedBytes(dtype, kRows, kCols);
    HugePageBuffer packed(bytes), reordered(bytes);
    InterleaveRows(dtype, q.data(), kRows, kCols, packed.data());
    std::memcpy(reordered.data(), packed.data(), bytes);
    ReorderForVnni(dtype, reordered.data(), kRows, kCols);
    constexpr int64_t kN = 3;  // all +1, all -1, random signs
    std::vector<float> x(kN * kCols);
    std::mt19937 rng(5);
    for (int64_t c = 0; c < kCols; ++c) {
      x[c] = 1.0f;
      x[kCols + c] = -1.0f;
      x[2 * kCols + c] = rng() % 2 == 0 ? 1.0f : -1.0f;
    }
    Q8KActivations ak;
    Q8Activations a32;
    ak.with_spread = a32.with_spread = true;
    ak.Resize(kN, kCols);
    a32.Resize(kN, kCols);
    for (int64_t i = 0; i < kN; ++i) {
      ak.QuantizeRow(i, x.data() + i * kCols);
      a32.QuantizeRow(i, x.data() + i * kCols);
    }
    std::vector<float> avx2(kN * kRows), vnni(kN * kRows);
    MatMulInterleavedAvx2(dtype, packed.data(), a32, ak, kRows, 0, kRows,
                          avx2.data());
    MatMulInterleavedVnni(dtype, reordered.data(), a32, ak, kRows, 0, kRows,
                          vnni.data());
    CHECK(SameBits(vnni, avx2));
  }
}

}  // namespace
}  // namespace fm::model::testing
