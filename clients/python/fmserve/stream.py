"""A server-streaming call as a Python iterator that owns the call.

Leaving the stream early cancels the RPC, so the server stops generating
(and frees the model's KV cache) instead of running to max_tokens for
nobody: ``close()`` does it explicitly, the ``with`` block does it on exit,
and a stream no longer referenced (a ``for`` loop that broke out over
``client.generate(...)``) does it when collected, which CPython does at
once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from fmserve.errors import error_from_number, error_from_rpc

__all__ = ["Stream"]

T = TypeVar("T")


class Stream(Iterator[T]):
    """Iterates over converted stream messages; raises FmError on failure.

    An error status, at the start or after some messages (the deadline
    passing mid-generation, a backend lost), raises the matching
    :class:`fmserve.FmError` from ``next()``. So does a message carrying an
    in-stream ``fm.v1.Error`` (an ``error`` field that is set), for
    services whose streams report errors that way.
    """

    def __init__(self, call: Any, convert: Callable[[Any], T]) -> None:
        # `call` is grpcio's _MultiThreadedRendezvous: an iterator of
        # messages that is also a grpc.Call (cancel, code, details).
        self._call = call
        self._convert = convert
        self._done = False

    def __iter__(self) -> Stream[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            message = next(self._call)
        except StopIteration:
            self._done = True
            raise
        except grpc.RpcError as e:
            self._done = True
            raise error_from_rpc(e) from e
        _raise_in_stream_error(message)
        return self._convert(message)

    def close(self) -> None:
        """Cancels the call if it is still running; idempotent."""
        if not self._done:
            self._done = True
            self._call.cancel()

    #: Same as close().
    cancel = close

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Also reached for an object whose __init__ failed.
        if getattr(self, "_call", None) is not None:
            self.close()


def _raise_in_stream_error(message: Message) -> None:
    """Raises the fm.v1.Error of a message that has one set."""
    # Looked up by name so that any stream message type may carry one
    # (SamplerSessionResponse and the model's SessionResponse do; the
    # gateway's GenerateResponse reports errors as the call's status).
    if "error" in message.DESCRIPTOR.fields_by_name and message.HasField("error"):
        error = message.error  # type: ignore[attr-defined]
        raise error_from_number(error.code, error.message)
