"""Between Python values and fm.v1 messages: requests out, results back.

Fields are copied, not checked: the server validates every one and names
the field in its INVALID_ARGUMENT, so a check here could only disagree
with it. What is done here is only what the wire format needs (text to
UTF-8 bytes, a chain's stages to protobuf Structs) and the unset-vs-zero
distinction of proto3 ``optional`` fields (None leaves a field unset, so
the server's default applies, as fmctl's flags do).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from fmserve import types
from fmserve._stubs import common_pb2, gateway_pb2, sampler_pb2

__all__ = [
    "chain_to_proto",
    "chain_from_proto",
    "generate_options",
    "set_prompt",
    "chat_messages",
    "json_text",
    "to_bytes",
    "to_text",
    "fill_message",
    "delta_from_proto",
    "score_from_proto",
    "profile_from_proto",
    "route_from_proto",
]

_FINISH = {
    common_pb2.FINISH_REASON_STOP: types.FinishReason.STOP,
    common_pb2.FINISH_REASON_EOS: types.FinishReason.EOS,
    common_pb2.FINISH_REASON_LENGTH: types.FinishReason.LENGTH,
    common_pb2.FINISH_REASON_CANCELLED: types.FinishReason.CANCELLED,
}

_LOGPROBS_MODES = {
    "raw": common_pb2.LOGPROBS_MODE_RAW,
    "processed": common_pb2.LOGPROBS_MODE_PROCESSED,
}


def to_text(data: bytes) -> str:
    # The gateway sends whole UTF-8 characters; "replace" only guards
    # against a server that does not, rather than failing the stream.
    return data.decode("utf-8", errors="replace")


def to_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def json_text(value: Any) -> str:
    """A JSON field's text: a str is sent as is, anything else dumped."""
    return value if isinstance(value, str) else json.dumps(value)


def fill_message(value: Mapping[str, Any] | Message, into: Message) -> None:
    """Fills ``into`` from a message of its type or its JSON form as a dict
    (proto field names, enums by name), e.g. {"regex": "[a-z]+"}."""
    if isinstance(value, Message):
        into.CopyFrom(value)
    else:
        json_format.ParseDict(value, into)


# ---------------------------------------------------------------- chains


def chain_to_proto(chain: types.Chain | str | common_pb2.SamplerChain) -> common_pb2.SamplerChain:
    """A chain in fmctl's JSON shape (or that JSON's text) as a message."""
    if isinstance(chain, common_pb2.SamplerChain):
        return chain
    stages = json.loads(chain) if isinstance(chain, str) else chain
    out = common_pb2.SamplerChain()
    for i, stage in enumerate(stages):
        # The shape fmctl's ChainFromJson reads; its messages, too.
        if not isinstance(stage, Mapping):
            raise ValueError(f"chain[{i}] is not an object")
        name = stage.get("stage")
        if not isinstance(name, str):
            raise ValueError(f'chain[{i}] has no string "stage"')
        spec = out.stages.add(stage=name)
        spec.params.update({k: v for k, v in stage.items() if k != "stage"})
    return out


def _plain(value: Any) -> Any:
    # Struct numbers are doubles: show 40.0 as 40, as fmctl's JSON does.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def chain_from_proto(chain: common_pb2.SamplerChain) -> list[dict[str, Any]]:
    """A chain message in fmctl's JSON shape."""
    return [
        {"stage": s.stage, **_plain(json_format.MessageToDict(s.params))}
        for s in chain.stages
    ]


# -------------------------------------------------------------- requests


def generate_options(
    *,
    max_tokens: int | None = None,
    min_tokens: int | None = None,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    repetition_penalty: float | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    logit_bias: Mapping[int, float] | None = None,
    seed: int | None = None,
    stop: str | bytes | Sequence[str | bytes] | None = None,
    stop_token_ids: Sequence[int] | None = None,
    include_stop_str: bool = False,
    ignore_eos: bool = False,
    n: int = 1,
    profile: str | None = None,
    chain: types.Chain | str | common_pb2.SamplerChain | None = None,
    logprobs: bool = False,
    top_logprobs: int = 0,
    logprobs_mode: str | None = None,
    sampler_route: str | None = None,
    trace: bool = False,
    shadow_profiles: Sequence[str] | None = None,
    no_cache: bool = False,
    parse_special: bool = False,
    add_bos: bool | None = None,
    constraint: Mapping[str, Any] | gateway_pb2.Constraint | None = None,
    best_of: int | None = None,
    select: Mapping[str, Any] | gateway_pb2.Selection | None = None,
    beam_width: int | None = None,
    length_penalty: float | None = None,
    early_stopping: bool = False,
) -> gateway_pb2.GenerateRequest:
    """Every Generate option, without the prompt (Chat embeds the same
    request). The parameters are documented on :meth:`Client.generate`."""
    if chain is not None and profile is not None:
        # One oneof: setting both would silently keep the last.
        raise ValueError("give chain or profile, not both")
    r = gateway_pb2.GenerateRequest(
        max_tokens=max_tokens or 0,
        min_tokens=min_tokens or 0,
        include_stop_str=include_stop_str,
        ignore_eos=ignore_eos,
        n=n,
        logprobs=logprobs,
        top_logprobs=top_logprobs,
        sampler_route=sampler_route or "",
        trace=trace,
        no_cache=no_cache,
        parse_special=parse_special,
        best_of=best_of or 0,
        beam_width=beam_width or 0,
        early_stopping=early_stopping,
    )
    if stop is not None:
        stops = [stop] if isinstance(stop, (str, bytes)) else stop
        r.stop.extend(to_bytes(s) for s in stops)
    if stop_token_ids is not None:
        r.stop_token_ids.extend(stop_token_ids)
    if shadow_profiles is not None:
        r.shadow_profiles.extend(shadow_profiles)
    if chain is not None:
        r.sampling.chain.CopyFrom(chain_to_proto(chain))
    elif profile is not None:
        r.sampling.profile = profile
    # The shorthand, as fmctl sends it: only what was given, so that the
    # gateway's defaults (or, with none given, the sampler's "default"
    # profile) apply to the rest. With a chain or profile the gateway
    # ignores it.
    shorthand = {
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "min_p": min_p,
        "repetition_penalty": repetition_penalty,
        "presence_penalty": presence_penalty,
        "frequency_penalty": frequency_penalty,
    }
    for name, value in shorthand.items():
        if value is not None:
            setattr(r.shorthand, name, value)
    if logit_bias:
        r.shorthand.logit_bias.update(logit_bias)
    if seed is not None:
        r.seed = seed
    if logprobs_mode is not None:
        try:
            r.logprobs_mode = _LOGPROBS_MODES[logprobs_mode]
        except KeyError:
            raise ValueError(
                f"logprobs_mode={logprobs_mode!r}: expected 'raw' or 'processed'"
            ) from None
    if add_bos is not None:
        r.add_bos = add_bos
    if constraint is not None:
        fill_message(constraint, r.constraint)
    if select is not None:
        fill_message(select, r.select)
    if length_penalty is not None:
        r.length_penalty = length_penalty
    return r


def set_prompt(
    request: gateway_pb2.GenerateRequest | gateway_pb2.ScoreRequest,
    prompt: str | bytes | Sequence[int],
) -> None:
    """Text (str or UTF-8 bytes) or token ids into the prompt oneof."""
    if isinstance(prompt, (str, bytes)):
        request.text = to_bytes(prompt)
    else:
        request.ids.ids.extend(prompt)


def chat_messages(messages: Sequence[Mapping[str, Any]]) -> list[common_pb2.ChatMessage]:
    """OpenAI-style message dicts as ChatMessages, as fmctl's chat reads
    them: "role", a string "content", and every other key (a content list,
    tool_calls, name, ...) into fields_json for the template."""
    out = []
    for m in messages:
        fields = {k: v for k, v in m.items() if k != "role"}
        content = fields.get("content")
        message = common_pb2.ChatMessage(role=m.get("role", ""))
        if isinstance(content, (str, bytes)):
            message.content = to_bytes(content)
            del fields["content"]
        if fields:
            message.fields_json = json.dumps(fields)
        out.append(message)
    return out


# --------------------------------------------------------------- results


def _logprobs(items: Any) -> tuple[types.TokenLogprob, ...]:
    return tuple(types.TokenLogprob(id=t.id, logprob=t.logprob) for t in items)


def _token(t: gateway_pb2.GeneratedToken) -> types.GeneratedToken:
    return types.GeneratedToken(
        id=t.id,
        logprob=t.logprob,
        top_logprobs=_logprobs(t.top_logprobs),
        trace=tuple(
            types.StageTrace(
                stage=s.stage,
                candidates=s.candidates,
                top=tuple(types.TokenProb(id=p.id, prob=p.prob) for p in s.top),
                micros=s.micros,
            )
            for s in t.trace
        ),
        shadows=tuple(
            types.ShadowPick(profile=s.profile, id=s.id, logprob=s.logprob)
            for s in t.shadows
        ),
    )


def _candidate(c: gateway_pb2.Candidate) -> types.Candidate:
    return types.Candidate(
        index=c.index,
        text=to_text(c.text),
        token_ids=tuple(c.token_ids),
        token_logprobs=tuple(c.token_logprobs),
        finish_reason=_FINISH.get(c.finish_reason),
        score=c.score,
        answer=c.answer if c.has_answer else None,
        sequence_index=c.sequence_index,
        reason=c.reason,
    )


def delta_from_proto(m: gateway_pb2.GenerateResponse) -> types.Delta:
    """One GenerateResponse as a Delta."""
    finish = _FINISH.get(m.finish_reason)
    stop_id = None
    if finish in (types.FinishReason.STOP, types.FinishReason.EOS) and not m.stop_string:
        stop_id = m.stop_token_id
    usage = None
    if m.HasField("usage"):
        u = m.usage
        usage = types.Usage(
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            time_to_first_token_ms=u.time_to_first_token_ms,
            tokens_per_second=u.tokens_per_second,
            total_ms=u.total_ms,
        )
    return types.Delta(
        index=m.sequence_index,
        text=to_text(m.text),
        token_ids=tuple(m.token_ids),
        tokens=tuple(_token(t) for t in m.tokens),
        finish_reason=finish,
        stop_string=to_text(m.stop_string) if m.stop_string else None,
        stop_token_id=stop_id,
        usage=usage,
        seed=m.seed,
        cache_hit=m.cache_hit,
        candidates=tuple(_candidate(c) for c in m.candidates),
    )


def score_from_proto(r: gateway_pb2.ScoreResponse) -> types.ScoreResult:
    """A ScoreResponse as a ScoreResult."""
    return types.ScoreResult(
        scores=tuple(
            types.ContinuationScore(
                text=to_text(s.text),
                tokens=tuple(
                    types.TokenScore(
                        id=t.id,
                        text=to_text(t.text),
                        logprob=t.logprob,
                        top_logprobs=_logprobs(t.top_logprobs),
                    )
                    for t in s.tokens
                ),
                sum_logprob=s.sum_logprob,
                mean_logprob=s.mean_logprob,
                perplexity=s.perplexity,
                rank=s.rank,
            )
            for s in r.scores
        ),
        ranking=tuple(r.ranking),
        prompt_tokens=r.prompt_tokens,
    )


def profile_from_proto(p: sampler_pb2.Profile) -> types.Profile:
    """A Profile message as a Profile."""
    return types.Profile(name=p.name, chain=chain_from_proto(p.chain))


def route_from_proto(r: gateway_pb2.Route) -> types.Route:
    """A Route message as a Route."""
    return types.Route(name=r.name, target=r.target)
