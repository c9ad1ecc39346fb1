// exp and tanh over float arrays: glibc's vector math library (libmvec,
// part of libc6) 8 lanes at a time where the CPU has AVX2 and FMA, else
// the scalar functions. For the forward pass's elementwise activations,
// whose scalar expf / tanhf calls were a few percent of a decode step and
// more of a batched one.
#ifndef FM_SERVICES_MODEL_VECTOR_MATH_H_
#define FM_SERVICES_MODEL_VECTOR_MATH_H_

#include <cstdint>

namespace fm::model {

// out[i] = exp(x[i]) for i in [0, n); out may be x. Each element's result
// depends on its value only (not on n or its position).
void ExpArray(const float* x, float* out, int64_t n);

// out[i] = tanh(x[i]), the same way.
void TanhArray(const float* x, float* out, int64_t n);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_VECTOR_MATH_H_
