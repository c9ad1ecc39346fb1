#!/usr/bin/env bash
# Configures and builds fmserve into build/ (binaries in build/bin).
#   bash scripts/build.sh              # everything: services, tests, benchmarks
#   bash scripts/build.sh fm-model ... # only these targets
# FM_BUILD_TYPE (default RelWithDebInfo), FM_JOBS (default 2), and
# FM_BUILD_TESTING=OFF (skips configuring the tests) adjust it.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${FM_JOBS:-2}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="${FM_BUILD_TYPE:-RelWithDebInfo}" \
  -DBUILD_TESTING="${FM_BUILD_TESTING:-ON}" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build -j "$jobs" --target "$@"
else
  cmake --build build -j "$jobs"
fi
