// Which OpenBLAS kernel set ("core") runs, and the fix for Debian's 0.3.21
// falling back to its generic "Prescott" kernels on recent AVX-512 CPUs.
#ifndef FM_SERVICES_MODEL_BLAS_CORE_H_
#define FM_SERVICES_MODEL_BLAS_CORE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fm::model {

// openblas_get_corename(), e.g. "Haswell", "SkylakeX", "Prescott".
std::string BlasCoreName();

// True for OpenBLAS's generic x86-64 fallbacks (Prescott, Core2, ...,
// "Generic"), which use no AVX.
bool IsGenericBlasCore(absl::string_view core);

// The OPENBLAS_CORETYPE that suits this CPU: "SkylakeX" with AVX-512
// (F/BW/VL/DQ), "Haswell" with AVX2 + FMA, "" otherwise.
std::string PreferredBlasCore();

// The decision EnsureOpenBlasCore acts on: the core to force, or "" to
// leave things alone. `env_coretype` is OPENBLAS_CORETYPE (nullptr when
// unset; an explicit setting is always respected), `current_core` what
// OpenBLAS chose, `preferred` PreferredBlasCore().
std::string BlasCoreToForce(const char* env_coretype,
                            absl::string_view current_core,
                            absl::string_view preferred);

// Call first thing in main(), before any BLAS call. When OPENBLAS_CORETYPE
// is unset, OpenBLAS picked a generic core and the CPU has AVX2, it sets
// OPENBLAS_CORETYPE=PreferredBlasCore() and re-executes /proc/self/exe with
// the same argv (once: FM_BLAS_REEXEC marks the child). OpenBLAS reads the
// variable only when the library is loaded, hence the re-exec. Returns only
// when no re-exec was needed (OK) or it failed (the error; the caller logs
// it and runs on, slower).
absl::Status EnsureOpenBlasCore(int argc, char** argv);

// The re-exec itself: sets OPENBLAS_CORETYPE=core and FM_BLAS_REEXEC=1 and
// executes /proc/self/exe with argv (null-terminated). Returns only on
// failure, with both variables restored to unset.
absl::Status ReexecWithBlasCore(absl::string_view core, char** argv);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_BLAS_CORE_H_
