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

// MatMulInterleaved's contract (interleaved_matmul.h), every integer type;
// the inputs' biased copies must be there (with_biased, the default where
// this runs).
void MatMulInterleavedVnni(DType dtype, const void* packed,
                           const Q8Activations& x32, const Q8KActivations& xk,
                           int64_t rows, int64_t row_begin, int64_t row_end,
                           float* out);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_INTERLEAVED_VNNI_H_
