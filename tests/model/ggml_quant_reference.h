// Test-side reference for ggml's tensor number formats: a plain scalar
// quantizer that reproduces ggml's quantize_row_<type>_ref byte for byte,
// and a dequantizer written one element at a time from each format's
// definition. It checks the service's fast dequantizers and kernels
// (services/model/) and so deliberately shares no code with them: nothing
// here includes a header from services/ or common/.
//
// Every multi-byte field is little-endian, as GGUF stores it; the byte
// layout and decoding formula of each block type are described beside its
// code in ggml_quant_reference.cc.
#ifndef FM_TESTS_MODEL_GGML_QUANT_REFERENCE_H_
#define FM_TESTS_MODEL_GGML_QUANT_REFERENCE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fm::model::testing {

// ggml type numbers, as GGUF stores them.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

// "F32", "F16", "Q4_0", ..., "Q6_K", "BF16" (ggml's type names).
const char* GgmlTypeName(GgmlType t);

// Elements per block: 1 (F32, F16, BF16), 32 (Q4_0 ... Q8_0) or 256 (K).
// This and BlockBytes abort on a type not listed above.
int64_t BlockElements(GgmlType t);

// Bytes per block: F32 4, F16 2, BF16 2, Q4_0 18, Q4_1 20, Q5_0 22,
// Q5_1 24, Q8_0 34, Q2_K 84, Q3_K 110, Q4_K 144, Q5_K 176, Q6_K 210.
int64_t BlockBytes(GgmlType t);

// All the ggml types above, in enum order, for loops in tests.
const std::vector<GgmlType>& AllGgmlTypes();

// n floats (n % BlockElements(t) == 0) quantized exactly as ggml's
// reference quantizer quantize_row_<type>_ref (ggml/src/ggml-quants.c):
// the same scale search (make_qx_quants / make_q3_quants /
// make_qkx2_quants with the same parameters), the same rounding, the same
// fp16 rounding of the scales. F16 and BF16 round to nearest even, as
// GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16. Floating point is evaluated one
// IEEE operation at a time (no fused multiply-add), i.e. as ggml's C code
// compiled without floating-point contraction. Returns
// n / BlockElements(t) * BlockBytes(t) bytes. Aborts on a bad n or type.
std::string QuantizeReference(GgmlType t, const float* x, int64_t n);

// The format's definition, one element at a time, plain scalar C++: n
// elements (n % BlockElements(t) == 0) decoded from `data`, which holds
// n / BlockElements(t) * BlockBytes(t) bytes. Each element is computed with
// the same float operations, in the same order, as ggml's
// dequantize_row_<type>, so the results are bit-identical to ggml's.
std::vector<float> DequantizeReference(GgmlType t, const void* data, int64_t n);

// dequant(quant(x)): what a model written in type t really holds.
std::vector<float> RoundTrip(GgmlType t, const float* x, int64_t n);

}  // namespace fm::model::testing

#endif  // FM_TESTS_MODEL_GGML_QUANT_REFERENCE_H_
