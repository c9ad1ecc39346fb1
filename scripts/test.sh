#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
# Model files are found through FM_MODELS (default: ../shared/models when it
# exists); tests that need them are reported as skipped without them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --tests
bash scripts/build.sh
if [ -z "${FM_MODELS:-}" ] && [ -d ../shared/models ]; then
  export FM_MODELS="$(cd ../shared/models && pwd)"
fi
echo "test: FM_MODELS=${FM_MODELS:-<unset: model tests will be skipped>}"
cd build
set +e
ctest -j "${FM_JOBS:-2}" --output-on-failure --timeout 600 "$@" | tee ctest.log
rc=${PIPESTATUS[0]}
set -e
skipped=$(grep -c "(Skipped)" ctest.log || true)
echo "fmserve tests: $(grep -E 'tests passed|tests failed' ctest.log | tail -1); ${skipped} skipped; exit ${rc}"
exit "$rc"
