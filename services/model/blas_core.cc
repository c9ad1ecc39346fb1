// OpenBLAS core detection and the re-exec fix: replace a generic fallback
// core by the one that matches the CPU's vector extensions.
#include "services/model/blas_core.h"

#include "services/model/cpu_features.h"

#include <cblas.h>
#include <errno.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fm::model {

std::string BlasCoreName() {
  const char* name = openblas_get_corename();
  return name != nullptr ? std::string(name) : std::string("unknown");
}

bool IsGenericBlasCore(absl::string_view core) {
  for (absl::string_view generic :
       {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
        "Katmai", "Coppermine", "Northwood", "Banias", "Generic", "Opteron",
        "Barcelona", "unknown"}) {
    if (absl::EqualsIgnoreCase(core, generic)) return true;
  }
  return false;
}

// Measured with OpenBLAS 0.3.21 on this AMD EPYC (AVX-512): sgemv streams
// at the same ~30 GB/s with the SkylakeX and Haswell kernels, and SkylakeX's
// sgemm is ~1.5x faster at 64 rows (126 vs 80 GFLOP/s on one thread), so
// AVX-512 CPUs get SkylakeX. (Its auto-detected "Cooperlake" is not generic
// and is kept; the re-exec only replaces generic fallbacks such as
// "Prescott".)
std::string PreferredBlasCore() {
  if (Cpu().avx2_fma_f16c && Cpu().avx512) return "SkylakeX";
  if (Cpu().avx2_fma_f16c) return "Haswell";
  return "";
}

std::string BlasCoreToForce(const char* env_coretype,
                            absl::string_view current_core,
                            absl::string_view preferred) {
  if (env_coretype != nullptr) return "";  // the user chose
  if (!IsGenericBlasCore(current_core)) return "";
  return std::string(preferred);  // "" on a CPU without AVX2: generic is right
}

absl::Status EnsureOpenBlasCore(int argc, char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr &&
      std::getenv("FM_BLAS_REEXEC") != nullptr) {
    return absl::FailedPreconditionError(
        "OPENBLAS_CORETYPE was set and the process re-executed, but it is "
        "unset again");
  }
  const std::string core = BlasCoreName();
  const std::string force = BlasCoreToForce(std::getenv("OPENBLAS_CORETYPE"),
                                            core, PreferredBlasCore());
  if (force.empty()) return absl::OkStatus();
  if (argc < 1) {
    return absl::InvalidArgumentError("EnsureOpenBlasCore: no argv");
  }
  const absl::Status st = ReexecWithBlasCore(force, argv);
  return absl::InternalError(absl::StrCat("OpenBLAS chose the generic core ",
                                          core, "; ", st.message()));
}

absl::Status ReexecWithBlasCore(absl::string_view core, char** argv) {
  if (argv == nullptr || argv[0] == nullptr) {
    return absl::InvalidArgumentError("ReexecWithBlasCore: no argv");
  }
  const std::string value(core);
  ::setenv("OPENBLAS_CORETYPE", value.c_str(), 1);
  ::setenv("FM_BLAS_REEXEC", "1", 1);
  ::execv("/proc/self/exe", argv);
  const int err = errno;
  ::unsetenv("OPENBLAS_CORETYPE");
  ::unsetenv("FM_BLAS_REEXEC");
  return absl::InternalError(
      absl::StrCat("re-exec with OPENBLAS_CORETYPE=", value,
                   " failed: ", std::strerror(err)));
}

}  // namespace fm::model
