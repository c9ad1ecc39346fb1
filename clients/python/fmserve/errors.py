"""The exceptions fmserve raises: one per gRPC status code worth catching.

Every failed call raises :class:`FmError` (or a subclass picked by the status
code), whether the server refused the call, the deadline passed, or the
stream ended with an error after some deltas. The server's message is kept
verbatim in ``details``: it names the offending field, its value and the
limit, so the client does no validation of its own.
"""

from __future__ import annotations

import grpc

__all__ = [
    "FmError",
    "Cancelled",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "Unauthenticated",
    "error_from_rpc",
    "error_from_code",
    "error_from_number",
]


class FmError(Exception):
    """A failed fmserve call.

    Attributes:
        code: The gRPC status code, e.g. ``grpc.StatusCode.INVALID_ARGUMENT``.
        details: The server's message (or gRPC's, for transport errors).
    """

    code: grpc.StatusCode
    details: str

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class Cancelled(FmError):
    """CANCELLED: the call was cancelled (by this client or the server)."""


class InvalidArgument(FmError):
    """INVALID_ARGUMENT: a request field is out of range; details name it."""


class DeadlineExceeded(FmError):
    """DEADLINE_EXCEEDED: the call's timeout passed before it finished."""


class NotFound(FmError):
    """NOT_FOUND: e.g. an unknown profile or route."""


class AlreadyExists(FmError):
    """ALREADY_EXISTS."""


class PermissionDenied(FmError):
    """PERMISSION_DENIED: e.g. a non-admin token changing routes."""


class ResourceExhausted(FmError):
    """RESOURCE_EXHAUSTED: e.g. too many concurrent generations."""


class FailedPrecondition(FmError):
    """FAILED_PRECONDITION: e.g. Chat on a tokenizer without a template."""


class OutOfRange(FmError):
    """OUT_OF_RANGE: e.g. a prompt that does not fit the context."""


class Unimplemented(FmError):
    """UNIMPLEMENTED."""


class Internal(FmError):
    """INTERNAL."""


class Unavailable(FmError):
    """UNAVAILABLE: the server (or a service behind it) cannot be reached."""


class Unauthenticated(FmError):
    """UNAUTHENTICATED: a missing or unknown bearer token."""


_BY_CODE: dict[grpc.StatusCode, type[FmError]] = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}

# google.rpc.Code numbers (as fm.v1.Error carries them) to grpc.StatusCode,
# whose values are (number, name) pairs.
_BY_NUMBER: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}


def error_from_code(code: grpc.StatusCode, details: str) -> FmError:
    """The exception for ``code``: its subclass, or FmError itself."""
    return _BY_CODE.get(code, FmError)(code, details)


def error_from_rpc(error: grpc.RpcError) -> FmError:
    """Converts what grpcio raises (a call that is also an RpcError)."""
    # grpcio raises RpcError objects that are also grpc.Call, but a bare
    # RpcError (e.g. from an interceptor) has neither method.
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_from_code(code, details or "")


def error_from_number(number: int, message: str) -> FmError:
    """Converts an in-stream fm.v1.Error (a google.rpc.Code number)."""
    return error_from_code(_BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN), message)
