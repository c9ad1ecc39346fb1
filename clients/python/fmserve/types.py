"""The values fmserve calls take and return, as plain frozen dataclasses.

They mirror the fm.v1 messages field for field (see protos/fm/v1/*.proto
for the full meaning of each), with bytes decoded to str and "unset" as
None. Calls whose answers are large descriptive records (``info()``,
``list_stages()``, ``check_constraint()``) return the generated protobuf
messages instead, which carry their own type stubs.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "Chain",
    "FinishReason",
    "TokenLogprob",
    "TokenProb",
    "StageTrace",
    "ShadowPick",
    "GeneratedToken",
    "Usage",
    "Candidate",
    "Delta",
    "TokenScore",
    "ContinuationScore",
    "ScoreResult",
    "Profile",
    "Route",
    "TlsConfig",
]

#: A sampler chain as fmctl's --chain takes it: a list of stages, each a
#: mapping with the stage name under "stage" and its parameters beside it,
#: e.g. ``[{"stage": "top_k", "k": 40}, {"stage": "dist"}]``; or the same
#: as a JSON string.
Chain: TypeAlias = Sequence[Mapping[str, Any]]


class FinishReason(enum.StrEnum):
    """Why a sequence ended (the names fmctl prints)."""

    #: A stop string or stop token id fired.
    STOP = "stop"
    #: The model produced EOS or an end-of-turn token.
    EOS = "eos"
    #: max_tokens was reached, or the context is full.
    LENGTH = "length"
    #: The generation was cancelled.
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """A token id and its natural-log probability."""

    id: int
    logprob: float


@dataclass(frozen=True, slots=True)
class TokenProb:
    """A token id and its probability, as a trace reports it."""

    id: int
    prob: float


@dataclass(frozen=True, slots=True)
class StageTrace:
    """The candidate set right after one sampler stage ran."""

    stage: str
    candidates: int
    top: tuple[TokenProb, ...]
    micros: float


@dataclass(frozen=True, slots=True)
class ShadowPick:
    """What a shadow profile would have picked from the same logits."""

    profile: str
    id: int
    logprob: float


@dataclass(frozen=True, slots=True)
class GeneratedToken:
    """Per-token detail, present when logprobs, trace or shadows was asked.

    ``logprob`` is meaningful only with ``logprobs=True``.
    """

    id: int
    logprob: float
    top_logprobs: tuple[TokenLogprob, ...] = ()
    trace: tuple[StageTrace, ...] = ()
    shadows: tuple[ShadowPick, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts and timings of one finished sequence."""

    prompt_tokens: int
    completion_tokens: int
    time_to_first_token_ms: float
    tokens_per_second: float
    total_ms: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """One best_of candidate or finished beam, as scored."""

    index: int
    text: str
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    finish_reason: FinishReason | None
    score: float
    #: MAJORITY selection: the normalised answer, None when it had none.
    answer: str | None
    #: Its sequence index in the response when selected, else -1.
    sequence_index: int
    reason: str


@dataclass(frozen=True, slots=True)
class Delta:
    """One streamed message of a Generate or Chat call.

    Concatenating the ``text`` of the deltas with the same ``index`` gives
    that sequence's text. The last delta of a sequence has
    ``finish_reason`` and ``usage`` set.
    """

    #: Which of the n sequences this belongs to, [0, n).
    index: int
    #: New text, whole characters only.
    text: str
    #: Token ids produced since the previous delta of this sequence.
    token_ids: tuple[int, ...] = ()
    #: Per-token detail for token_ids (logprobs, trace, shadows), if asked.
    tokens: tuple[GeneratedToken, ...] = ()
    finish_reason: FinishReason | None = None
    #: The stop string that fired (finish_reason STOP).
    stop_string: str | None = None
    #: The stop id that fired (STOP without a stop string), or the
    #: end-of-generation id the model produced (EOS).
    stop_token_id: int | None = None
    usage: Usage | None = None
    #: The seed in force.
    seed: int = 0
    #: Served from the gateway's exact response cache.
    cache_hit: bool = False
    #: best_of / beam search: every candidate, on one last delta.
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenScore:
    """One continuation token: its text and log P(token | before)."""

    id: int
    text: str
    logprob: float
    top_logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class ContinuationScore:
    """The score of one continuation after the prompt."""

    text: str
    tokens: tuple[TokenScore, ...]
    sum_logprob: float
    mean_logprob: float
    perplexity: float
    #: 0 = most likely by sum_logprob.
    rank: int


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What Score returns."""

    #: In request order.
    scores: tuple[ContinuationScore, ...]
    #: Indices into ``scores``, best first.
    ranking: tuple[int, ...]
    prompt_tokens: int


@dataclass(frozen=True, slots=True)
class Profile:
    """A stored sampler profile: a name and its chain (see :data:`Chain`)."""

    name: str
    chain: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Route:
    """A named sampler deployment behind the gateway."""

    name: str
    #: Comma-separated host:port list.
    target: str


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS for the client's channels: paths of PEM files.

    Attributes:
        ca: The CA that verifies the server; None for the system's roots.
        cert: A client certificate, for mTLS (with ``key``).
        key: The client certificate's private key.
        server_name: The name to check in the server's certificate, when it
            is not the host in the address.
    """

    ca: str | os.PathLike[str] | None = None
    cert: str | os.PathLike[str] | None = None
    key: str | os.PathLike[str] | None = None
    server_name: str | None = None
