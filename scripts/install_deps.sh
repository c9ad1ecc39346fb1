#!/usr/bin/env bash
# Installs the Debian 12 packages fmserve builds and runs with (only those
# missing). Runs apt-get as root, or through sudo.
#   bash scripts/install_deps.sh [--tests]
# --tests adds what only the test suite uses: clang and the libFuzzer
# runtime (the fuzz targets run under AddressSanitizer), python3-jsonschema
# (an independent validator for the structured-output tests), and
# python3-grpcio with python3-protobuf (the Python client's suite; the
# client's users install those two themselves, see clients/python), and a
# real Prometheus server that scrapes the services in the metrics test.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ccache
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsentencepiece-dev sentencepiece libopenblas-dev
  catch2 nlohmann-json3-dev libssl-dev libyaml-cpp-dev iproute2 libpcre2-dev libutf8proc-dev
  libcpp-httplib-dev prometheus-cpp-dev
  ca-certificates curl
)
if [ "${1:-}" = "--tests" ]; then
  PACKAGES+=(clang libclang-rt-14-dev python3-jsonschema python3-grpcio
    python3-protobuf prometheus)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done"
