// CPUID through the compiler's builtins; F16C read from CPUID leaf 1
// directly (clang's __builtin_cpu_supports has no "f16c").
#include "services/model/cpu_features.h"

#include <cpuid.h>

namespace fm::model {
namespace {

bool HasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_F16C) != 0;
}

CpuFeatures Detect() {
  __builtin_cpu_init();
  CpuFeatures f;
  f.avx2_fma_f16c = __builtin_cpu_supports("avx2") &&
                    __builtin_cpu_supports("fma") && HasF16c();
  f.avx512 = __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  return f;
}

}  // namespace

const CpuFeatures& Cpu() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace fm::model
