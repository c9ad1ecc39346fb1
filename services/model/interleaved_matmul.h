// The kernels over weights re-laid 8 rows interleaved
// (interleaved_layout.h): AVX2, and AVX-512 VNNI where the CPU has it
// (interleaved_vnni.h); and which types a model should re-lay here.
#ifndef FM_SERVICES_MODEL_INTERLEAVED_MATMUL_H_
#define FM_SERVICES_MODEL_INTERLEAVED_MATMUL_H_

#include <cstdint>

#include "services/model/dtype.h"
#include "services/model/interleaved_layout.h"
#include "services/model/kquant_matmul.h"
#include "services/model/quant.h"

namespace fm::model {

// True when this CPU runs the interleaved kernel of `dtype` (every integer
// type, with AVX2+FMA+F16C); a model then re-lays its matrices of `dtype`,
// the interleaved kernels being the fastest this CPU has wherever there
// are any (on an AVX-512 VNNI CPU the interleaved Q8_0 kernel also beats
// the VNNI row kernel: bench/model/RESULTS.md, run 5).
bool HasInterleavedKernel(DType dtype);

// InterleaveRows, then whatever re-order the kernels MatMulInterleaved
// runs here read (ReorderForVnni on an AVX-512 VNNI CPU): the copy a model
// multiplies.
void InterleaveForKernels(DType dtype, const void* w, int64_t rows,
                          int64_t cols, uint8_t* out);

// The contract of the MatMulInterleaved* kernels: out[i * rows + r] =
// dot(W[r], X[i]) for r in [row_begin, row_end) (any range: a group cut
// by it is computed whole and only its rows in range are stored), and each
// result is computed the same way whatever x.n or the range is; the AVX2
// and the AVX-512 VNNI kernels give bit-identical results. The K types
// read `xk`, the 32-weight types `x32` (both of the same inputs).
//
// MatMulInterleaved runs the fastest kernels this CPU has
// (IntegerKernelName), over an InterleaveForKernels copy.
void MatMulInterleaved(DType dtype, const void* packed,
                       const Q8Activations& x32, const Q8KActivations& xk,
                       int64_t rows, int64_t row_begin, int64_t row_end,
                       float* out);

// The same with the AVX2 kernels whatever the CPU has beyond AVX2 (needs
// HasInterleavedKernel), over an InterleaveRows copy and inputs with
// spread copies (with_spread): for tests and benchmarks that compare
// kernels.
void MatMulInterleavedAvx2(DType dtype, const void* packed,
                           const Q8Activations& x32, const Q8KActivations& xk,
                           int64_t rows, int64_t row_begin, int64_t row_end,
                           float* out);

// "avx512vnni", "avx2" or "scalar": the instruction set of the kernels the
// quantized matrices run here (interleaved, row or dequantizing ones).
const char* IntegerKernelName();

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_INTERLEAVED_MATMUL_H_
