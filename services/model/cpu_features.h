// What this CPU's SIMD units can run, detected once at first use, for the
// kernels' run-time dispatch (the binary itself targets baseline x86-64).
//
// FM_CPU_LIMIT caps what is reported: "avx2" (no AVX-512 kernels) or
// "baseline" (scalar kernels only). The integer kernels give bit-identical
// results with AVX2 and AVX-512 VNNI, but the F32 / F16 kernels and the
// scalar fallbacks sum in other orders, so replicas on mixed CPUs that
// must compute the same logits (a generation resumed on another replica)
// run the same ones under one limit (OpenBLAS, which serves prefill, has
// its own OPENBLAS_CORETYPE); and two kernel sets can be compared on one
// machine.
#ifndef FM_SERVICES_MODEL_CPU_FEATURES_H_
#define FM_SERVICES_MODEL_CPU_FEATURES_H_

#include <string>

#include "absl/status/status.h"

namespace fm::model {

struct CpuFeatures {
  bool avx2_fma_f16c = false;  // AVX2 + FMA + F16C: every AVX2 kernel
  bool avx512 = false;         // AVX-512 F, BW, DQ and VL
  bool avx512_vnni = false;    // the above and VNNI (vpdpbusd)
  // The FM_CPU_LIMIT in effect: "avx2", "baseline" or "" (none), as read
  // at detection.
  std::string limit;
};

const CpuFeatures& Cpu();

// OK when FM_CPU_LIMIT is unset, empty, "avx2" or "baseline"; otherwise
// INVALID_ARGUMENT naming the variable, its value and the choices (an
// unknown value is ignored by Cpu(), so a service checks this at start).
absl::Status CheckCpuLimit();

// Cpu().limit.
std::string CpuLimit();

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_CPU_FEATURES_H_
