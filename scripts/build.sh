#!/usr/bin/env bash
# Configures and builds fmserve into build/ (binaries in build/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${FM_JOBS:-2}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="${FM_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j "$jobs"
