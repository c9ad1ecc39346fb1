// CPUID through the compiler's builtins; F16C read from CPUID leaf 1
// directly (clang's __builtin_cpu_supports has no "f16c").
#include "services/model/cpu_features.h"

#include <cpuid.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace fm::model {
namespace {

constexpr char kLimitVariable[] = "FM_CPU_LIMIT";

bool HasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_F16C) != 0;
}

std::string LimitValue() {
  const char* v = std::getenv(kLimitVariable);
  return v == nullptr ? "" : v;
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
  const std::string limit = LimitValue();
  if (limit == "avx2" || limit == "baseline") {
    f.limit = limit;
    f.avx512 = f.avx512_vnni = false;
  }
  if (limit == "baseline") f.avx2_fma_f16c = false;
  return f;
}

}  // namespace

const CpuFeatures& Cpu() {
  static const CpuFeatures features = Detect();
  return features;
}

absl::Status CheckCpuLimit() {
  const std::string v = LimitValue();
  if (v.empty() || v == "avx2" || v == "baseline") return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(kLimitVariable, " is \"", v,
                   "\"; it must be unset, \"avx2\" or \"baseline\""));
}

std::string CpuLimit() { return Cpu().limit; }

}  // namespace fm::model
