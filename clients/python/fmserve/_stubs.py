"""The generated protobuf and gRPC modules, imported in one place.

generate_stubs.sh (run by the CMake build) generates them from protos/ into
fmserve/_proto/, rewriting their imports of each other so that no top-level
``fm`` or ``grpc`` package is created (a generated ``grpc/`` directory on
sys.path would shadow grpcio). See that script for the layout.
"""

from __future__ import annotations

try:
    from fmserve._proto.fm.v1 import common_pb2 as common_pb2
    from fmserve._proto.fm.v1 import gateway_pb2 as gateway_pb2
    from fmserve._proto.fm.v1 import gateway_pb2_grpc as gateway_pb2_grpc
    from fmserve._proto.fm.v1 import sampler_pb2 as sampler_pb2
    from fmserve._proto.fm.v1 import sampler_pb2_grpc as sampler_pb2_grpc
    from fmserve._proto.fm.v1 import tokenizer_pb2 as tokenizer_pb2
except ImportError as e:  # pragma: no cover - a packaging error, not a runtime one
    raise ImportError(
        "fmserve's generated gRPC stubs are missing: build the project (the "
        "CMake target fmserve_python writes <build>/python) or run "
        "clients/python/generate_stubs.sh OUT_DIR, then put that directory "
        f"on PYTHONPATH ({e})"
    ) from e

# The health schema: grpcio-health-checking's copy when it is installed.
# Both copies register "grpc/health/v1/health.proto" in protobuf's default
# descriptor pool and they differ (its file sets java/go options), so
# loading ours beside it would fail with a duplicate-file error.
try:
    from grpc_health.v1 import health_pb2 as health_pb2
    from grpc_health.v1 import health_pb2_grpc as health_pb2_grpc
except ImportError:
    from fmserve._proto.grpc.health.v1 import health_pb2 as health_pb2
    from fmserve._proto.grpc.health.v1 import health_pb2_grpc as health_pb2_grpc

__all__ = [
    "common_pb2",
    "gateway_pb2",
    "gateway_pb2_grpc",
    "health_pb2",
    "health_pb2_grpc",
    "sampler_pb2",
    "sampler_pb2_grpc",
    "tokenizer_pb2",
]
