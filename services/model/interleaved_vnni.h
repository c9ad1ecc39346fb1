// The AVX-512 VNNI kernels over weights re-laid 8 rows interleaved
// (interleaved_layout.h): the same layout and the same results' contract
// as the AVX2 kernels (MatMulInterleaved), computed with vpdpbusd.
#ifndef FM_SERVICES_MODEL_INTERLEAVED_VNNI_H_
#define FM_SERVICES_MODEL_INTERLEAVED_VNNI_H_

#include <cstdint>

#include "services/model/dtype.h"
#include "services/model/kquant_matmul.h"
#include "services/model/quant.h"

namespace fm::model {

// True when this CPU has AVX-512 F/BW/DQ/VL and VNNI (with AVX2, FMA and
// F16C), i.e. MatMulInterleavedVnni can run.
bool HasInterleavedVnni();

// Re-orders an InterleaveRows copy of a (rows, cols) matrix in place into
// the order MatMulInterleavedVnni reads: the 4-bit quants of Q4_K, Q5_K,
// Q6_K, Q4_0, Q4_1, Q5_0 and Q5_1 so that each 64 bytes are, as low and as
// high nibbles (and Q6_K's top bits as 2-bit fields), vector pairs in pair
// lanes (interleaved_vnni.cc); Q8_0, Q3_K and Q2_K are read as laid.
void ReorderForVnni(DType dtype, uint8_t* packed, int64_t rows, int64_t cols);

// MatMulInterleaved's contract (interleaved_matmul.h), every integer type,
// over a ReorderForVnni copy; the Q8_K inputs' offset starts must be there
// (with_offset_starts, the default where this runs).
void MatMulInterleavedVnni(DType dtype, const void* packed,
                           const Q8Activations& x32, const Q8KActivations& xk,
                           int64_t rows, int64_t row_begin, int64_t row_end,
                           float* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_INTERLEAVED_VNNI_H_
