// IEEE-754 binary16 <-> binary32 conversion, for f16 logits on the wire and
// f16 weights in model files.
#ifndef FM_COMMON_HALF_H_
#define FM_COMMON_HALF_H_

#include <cstdint>

namespace fm {

// Exact (every half is a float).
float F16ToF32(uint16_t h);
// Round to nearest even; overflow becomes infinity, NaN stays NaN.
uint16_t F32ToF16(float f);

void F16ToF32Row(const uint16_t* in, float* out, int64_t n);
void F32ToF16Row(const float* in, uint16_t* out, int64_t n);

}  // namespace fm

#endif  // FM_COMMON_HALF_H_
