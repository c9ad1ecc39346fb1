#!/bin/sh
# Generates the Python gRPC stubs of protos/ and lays out an importable
# `fmserve` package:
#
#   OUT_DIR/fmserve/            the package sources (copied from here)
#   OUT_DIR/fmserve/_proto/     the generated modules, e.g.
#       fm/v1/gateway_pb2.py, fm/v1/gateway_pb2_grpc.py (+ .pyi),
#       grpc/health/v1/health_pb2.py, ...
#
# Usage: generate_stubs.sh OUT_DIR
#   then PYTHONPATH=OUT_DIR python3 -c 'import fmserve'.
#   OUT_DIR may be this directory itself (stubs for working in the source
#   tree; fmserve/_proto/ is git-ignored).
# Environment: PROTOC (default: protoc), GRPC_PYTHON_PLUGIN (default:
#   grpc_python_plugin on PATH, else /usr/bin/grpc_python_plugin).
#
# Why the import rewrite: protoc 3.21 names a module by its .proto path and
# imports its dependencies absolutely ("from fm.v1 import common_pb2",
# "from grpc.health.v1 import health_pb2"), and has no option to prefix
# them. Putting the generated tree on sys.path would create top-level `fm`
# and `grpc` packages, the latter shadowing grpcio itself. So the modules
# live under fmserve._proto and their absolute imports of each other are
# rewritten to "from fmserve._proto.fm.v1 import ...". Imports of other
# packages (google.protobuf, grpc) are untouched. The descriptors keep their
# .proto names (fm/v1/gateway.proto), so the wire API is unchanged.
set -eu

if [ "$#" -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
protos=$(cd "$here/../../protos" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
protoc=${PROTOC:-protoc}
plugin=${GRPC_PYTHON_PLUGIN:-$(command -v grpc_python_plugin || echo /usr/bin/grpc_python_plugin)}

pkg="$out/fmserve"
gen="$pkg/_proto"

# The package sources, unless generating into the source tree itself.
if [ "$out" != "$here" ]; then
  rm -rf "$pkg"
  mkdir -p "$pkg"
  cp "$here"/fmserve/*.py "$here/fmserve/py.typed" "$pkg/"
fi
rm -rf "$gen"
mkdir -p "$gen"

# Every .proto, by its path relative to protos/ (its import name).
files=$(cd "$protos" && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
# shellcheck disable=SC2086  # one argument per file; the paths hold no spaces
(cd "$protos" && "$protoc" -I"$protos" \
  --python_out="$gen" --pyi_out="$gen" --grpc_out="$gen" \
  --plugin=protoc-gen-grpc="$plugin" $files)

# Every directory holding generated modules is a regular package, and its
# dotted name ("fm.v1", "grpc.health.v1") is what the rewrite prefixes.
packages=""
for dir in $(cd "$gen" && find . -name '*_pb2.py' -exec dirname {} \; | sed 's|^\./||' | LC_ALL=C sort -u); do
  d="$dir"
  while [ "$d" != "." ]; do
    touch "$gen/$d/__init__.py"
    d=$(dirname "$d")
  done
  packages="$packages $(echo "$dir" | tr / .)"
done
touch "$gen/__init__.py"

for module in $(find "$gen" -name '*_pb2*.py' -o -name '*_pb2.pyi' | LC_ALL=C sort); do
  for p in $packages; do
    re=$(echo "$p" | sed 's/\./\\./g')
    # "from fm.v1 import x_pb2" and the module name given to the builder
    # (the generated classes' __module__, which pickling uses).
    sed -i \
      -e "s/^from $re import /from fmserve._proto.$p import /" \
      -e "s/^\(_builder\.BuildTopDescriptorsAndMessages(DESCRIPTOR, '\)$re\./\1fmserve._proto.$p./" \
      "$module"
  done
done
