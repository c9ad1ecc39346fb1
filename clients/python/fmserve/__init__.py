"""fmserve: a Python client for fm-gateway's gRPC API.

>>> import fmserve
>>> with fmserve.Client("127.0.0.1:50050") as client:
...     print(client.generate_text("Once upon a time", max_tokens=24, seed=1))

:class:`Client` holds the calls; :mod:`fmserve.types` the values they take
and return; :mod:`fmserve.errors` the exceptions (all :class:`FmError`).
"""

from fmserve.client import Client
from fmserve.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FmError,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from fmserve.stream import Stream
from fmserve.types import (
    Candidate,
    Chain,
    ContinuationScore,
    Delta,
    FinishReason,
    GeneratedToken,
    Profile,
    Route,
    ScoreResult,
    ShadowPick,
    StageTrace,
    TlsConfig,
    TokenLogprob,
    TokenProb,
    TokenScore,
    Usage,
)

__all__ = [
    "Client",
    "Stream",
    "TlsConfig",
    # values
    "Candidate",
    "Chain",
    "ContinuationScore",
    "Delta",
    "FinishReason",
    "GeneratedToken",
    "Profile",
    "Route",
    "ScoreResult",
    "ShadowPick",
    "StageTrace",
    "TokenLogprob",
    "TokenProb",
    "TokenScore",
    "Usage",
    # errors
    "FmError",
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
]
