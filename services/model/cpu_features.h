// What this CPU's SIMD units can run, detected once at first use, for the
// kernels' run-time dispatch (the binary itself targets baseline x86-64).
#ifndef FM_SERVICES_MODEL_CPU_FEATURES_H_
#define FM_SERVICES_MODEL_CPU_FEATURES_H_

namespace fm::model {

struct CpuFeatures {
  bool avx2_fma_f16c = false;  // AVX2 + FMA + F16C: every AVX2 kernel
  bool avx512 = false;         // AVX-512 F, BW, DQ and VL
  bool avx512_vnni = false;    // the above and VNNI (vpdpbusd)
};

const CpuFeatures& Cpu();

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_CPU_FEATURES_H_
