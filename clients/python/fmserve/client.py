"""Client: fm-gateway's API (and the sampler's profiles) as Python calls."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from fmserve import _convert, types
from fmserve._stubs import (
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    sampler_pb2,
    sampler_pb2_grpc,
    tokenizer_pb2,
)
from fmserve.errors import error_from_rpc
from fmserve.stream import Stream

__all__ = ["Client"]

R = TypeVar("R")


def _read(path: str | os.PathLike[str] | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def _channel(address: str, tls: types.TlsConfig | None) -> grpc.Channel:
    if tls is None:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca),
        private_key=_read(tls.key),
        certificate_chain=_read(tls.cert),
    )
    options = []
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return grpc.secure_channel(address, credentials, options=options)


class Client:
    """A connection to fm-gateway (and optionally fm-sampler).

    Every call has a deadline: its ``timeout`` argument in seconds, else the
    client's. For a stream the deadline covers the whole stream. Failures
    raise :class:`fmserve.FmError` (a subclass per status code).

    Use as a context manager, or call :meth:`close`::

        with fmserve.Client("127.0.0.1:50050") as client:
            for delta in client.generate("Once upon a time", max_tokens=32):
                print(delta.text, end="", flush=True)

    Args:
        address: The gateway's HOST:PORT.
        token: A bearer token, sent as ``authorization: Bearer <token>`` with
            every gateway call (only the gateway checks tokens; it is not
            sent to the sampler).
        tls: TLS (and mTLS) for the channels; None for plaintext.
        timeout: The default deadline of each call, seconds.
        sampler_address: fm-sampler's HOST:PORT, for the profile and stage
            calls (which the sampler serves, not the gateway).
    """

    def __init__(
        self,
        address: str,
        token: str | None = None,
        tls: types.TlsConfig | None = None,
        timeout: float = 30.0,
        sampler_address: str | None = None,
    ) -> None:
        self._timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )
        self._channel = _channel(address, tls)
        self._gateway = gateway_pb2_grpc.GatewayServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._sampler_channel: grpc.Channel | None = None
        self._sampler: sampler_pb2_grpc.SamplerServiceStub | None = None
        if sampler_address is not None:
            self._sampler_channel = _channel(sampler_address, tls)
            self._sampler = sampler_pb2_grpc.SamplerServiceStub(self._sampler_channel)

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Closes the channels (and with them any call still running)."""
        self._channel.close()
        if self._sampler_channel is not None:
            self._sampler_channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _deadline(self, timeout: float | None) -> float:
        return self._timeout if timeout is None else timeout

    def _unary(
        self,
        method: Callable[..., R],
        request: Any,
        timeout: float | None,
        *,
        gateway: bool = True,
    ) -> R:
        try:
            return method(
                request,
                timeout=self._deadline(timeout),
                metadata=self._metadata if gateway else (),
            )
        except grpc.RpcError as e:
            raise error_from_rpc(e) from e

    def _stream(self, method: Any, request: Any, timeout: float | None) -> Stream[types.Delta]:
        # grpcio starts the call here and raises its errors on iteration,
        # where Stream converts them.
        call = method(request, timeout=self._deadline(timeout), metadata=self._metadata)
        return Stream(call, _convert.delta_from_proto)

    def _sampler_stub(self) -> sampler_pb2_grpc.SamplerServiceStub:
        if self._sampler is None:
            raise ValueError(
                "profiles and stages are served by fm-sampler: "
                "create the Client with sampler_address=HOST:PORT"
            )
        return self._sampler

    # ---------------------------------------------------------- generation

    def generate(
        self,
        prompt: str | bytes | Sequence[int],
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
        timeout: float | None = None,
    ) -> Stream[types.Delta]:
        """Streams a generation: one :class:`Delta` per gateway message.

        The options are GenerateRequest's fields (see protos/fm/v1/
        gateway.proto); None leaves one to the gateway's default. The
        request is the one ``fmctl generate`` sends for the same flags, so
        the same seed gives the same text.

        Args:
            prompt: Text, or token ids.
            max_tokens: Tokens to generate per sequence (default 256).
            min_tokens: No EOS or stop before this many tokens.
            temperature, top_k, top_p, min_p, repetition_penalty,
                presence_penalty, frequency_penalty, logit_bias: The
                shorthand that builds a chain when neither ``chain`` nor
                ``profile`` is given; with none of them, the sampler's
                "default" profile is used.
            seed: RNG seed; the same seed and request give the same text.
            stop: Stop string(s); ``include_stop_str`` keeps it in the text.
            stop_token_ids: Token ids that stop generation.
            ignore_eos: Keep going past EOS.
            n: Independent sequences (``Delta.index`` tells them apart).
            profile: A stored sampler profile by name.
            chain: An inline chain, e.g. ``[{"stage": "top_k", "k": 40},
                {"stage": "dist"}]``, or that as JSON text.
            logprobs: Report each token's logprob (``Delta.tokens``).
            top_logprobs: Alternatives per token, [0, 20].
            logprobs_mode: "raw" (the model's, default) or "processed"
                (after the chain).
            sampler_route: A named sampler deployment (see list_routes).
            trace: Report the candidate set after every sampler stage.
            shadow_profiles: Profiles run in the shadow and reported.
            no_cache: Bypass the gateway's response cache.
            parse_special: Control-token text in the prompt becomes ids.
            add_bos: Prepend BOS (the gateway's default: yes).
            constraint: Structured output, a gateway.proto Constraint or its
                JSON form, e.g. ``{"regex": "[a-z]+"}``,
                ``{"choice": {"choices": ["yes", "no"]}}``,
                ``{"json_schema": "{...}"}``.
            best_of, select: Sample best_of candidates and return the best
                n by ``select`` (a Selection or its JSON form, e.g.
                ``{"method": "MAJORITY", "extract": "(\\d+)"}``).
            beam_width, length_penalty, early_stopping: Beam search.
            timeout: This call's deadline in seconds (whole stream).

        Returns:
            An iterator of deltas; closing it (or leaving its ``with``
            block, or dropping it) cancels the generation.
        """
        request = _convert.generate_options(
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            min_p=min_p,
            repetition_penalty=repetition_penalty,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            logit_bias=logit_bias,
            seed=seed,
            stop=stop,
            stop_token_ids=stop_token_ids,
            include_stop_str=include_stop_str,
            ignore_eos=ignore_eos,
            n=n,
            profile=profile,
            chain=chain,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            logprobs_mode=logprobs_mode,
            sampler_route=sampler_route,
            trace=trace,
            shadow_profiles=shadow_profiles,
            no_cache=no_cache,
            parse_special=parse_special,
            add_bos=add_bos,
            constraint=constraint,
            best_of=best_of,
            select=select,
            beam_width=beam_width,
            length_penalty=length_penalty,
            early_stopping=early_stopping,
        )
        _convert.set_prompt(request, prompt)
        return self._stream(self._gateway.Generate, request, timeout)

    def generate_text(
        self, prompt: str | bytes | Sequence[int], *, timeout: float | None = None, **options: Any
    ) -> str:
        """The whole text of sequence 0 of :meth:`generate` (same options)."""
        with self.generate(prompt, timeout=timeout, **options) as stream:
            return "".join(d.text for d in stream if d.index == 0)

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: str | Sequence[Any] | None = None,
        variables: str | Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> Stream[types.Delta]:
        """Streams the assistant's reply to a conversation.

        The gateway renders ``messages`` through the model's chat template
        and generates from it, ending at the end-of-turn token.

        Args:
            messages: OpenAI-style dicts: "role", "content" (a string), and
                any other keys the template reads ("tool_calls", "name", a
                list "content" of parts), as fmctl chat takes them.
            tools: Tool definitions for the template: a JSON array, as text
                or as a list.
            variables: Further template variables (a JSON object as text or
                a dict), e.g. ``{"enable_thinking": False}``.
            timeout: This call's deadline in seconds (whole stream).
            **options: Any keyword option of :meth:`generate`.
        """
        request = gateway_pb2.ChatRequest(
            messages=_convert.chat_messages(messages),
            generate=_convert.generate_options(**options),
        )
        if tools is not None:
            request.tools_json = _convert.json_text(tools)
        if variables is not None:
            request.variables_json = _convert.json_text(variables)
        return self._stream(self._gateway.Chat, request, timeout)

    def chat_text(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        timeout: float | None = None,
        **options: Any,
    ) -> str:
        """The whole reply (sequence 0) of :meth:`chat` (same options)."""
        with self.chat(messages, timeout=timeout, **options) as stream:
            return "".join(d.text for d in stream if d.index == 0)

    def score(
        self,
        prompt: str | bytes | Sequence[int],
        continuations: Sequence[str | bytes],
        *,
        top_logprobs: int = 0,
        add_bos: bool | None = None,
        timeout: float | None = None,
    ) -> types.ScoreResult:
        """Logprobs of each continuation after ``prompt``, and their ranking."""
        request = gateway_pb2.ScoreRequest(
            continuations=[_convert.to_bytes(c) for c in continuations],
            top_logprobs=top_logprobs,
        )
        _convert.set_prompt(request, prompt)
        if add_bos is not None:
            request.add_bos = add_bos
        return _convert.score_from_proto(self._unary(self._gateway.Score, request, timeout))

    # ---------------------------------------------------------- tokenizer

    def tokenize(
        self,
        text: str | bytes,
        bos: bool = False,
        *,
        eos: bool = False,
        parse_special: bool = False,
        timeout: float | None = None,
    ) -> list[int]:
        """Text to the serving tokenizer's ids (through the gateway)."""
        request = tokenizer_pb2.EncodeRequest(
            text=_convert.to_bytes(text), add_bos=bos, add_eos=eos, parse_special=parse_special
        )
        return list(self._unary(self._gateway.Tokenize, request, timeout).ids)

    def detokenize(self, ids: Sequence[int], *, timeout: float | None = None) -> str:
        """Token ids to text (through the gateway)."""
        request = tokenizer_pb2.DecodeRequest(ids=ids)
        return _convert.to_text(self._unary(self._gateway.Detokenize, request, timeout).text)

    # ------------------------------------------------------ introspection

    def info(self, *, timeout: float | None = None) -> gateway_pb2.GatewayInfo:
        """What is behind the gateway: tokenizer, model, routes, cache."""
        return self._unary(self._gateway.Info, gateway_pb2.GatewayInfoRequest(), timeout)

    def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The gateway's grpc.health.v1 status name, e.g. "SERVING".

        ``service`` "" asks about the whole server.
        """
        request = health_pb2.HealthCheckRequest(service=service)
        response = self._unary(self._health.Check, request, timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def check_constraint(
        self,
        constraint: Mapping[str, Any] | gateway_pb2.Constraint,
        text: str | bytes,
        *,
        sampler_route: str | None = None,
        timeout: float | None = None,
    ) -> common_pb2.ConstraintCheck:
        """Walks ``text`` through a constraint (as in :meth:`generate`)."""
        request = gateway_pb2.GatewayCheckConstraintRequest(
            text=_convert.to_bytes(text), sampler_route=sampler_route or ""
        )
        _convert.fill_message(constraint, request.constraint)
        return self._unary(self._gateway.CheckConstraint, request, timeout)

    # -------------------------------------------------------------- routes

    def list_routes(self, *, timeout: float | None = None) -> list[types.Route]:
        """The gateway's sampler routes ("default" among them)."""
        response = self._unary(self._gateway.ListRoutes, gateway_pb2.ListRoutesRequest(), timeout)
        return [_convert.route_from_proto(r) for r in response.routes]

    def set_route(self, name: str, target: str, *, timeout: float | None = None) -> types.Route:
        """Adds or replaces a sampler route; ``target`` is HOST:PORT[,...]."""
        request = gateway_pb2.SetRouteRequest(route=gateway_pb2.Route(name=name, target=target))
        return _convert.route_from_proto(self._unary(self._gateway.SetRoute, request, timeout))

    def delete_route(self, name: str, *, timeout: float | None = None) -> None:
        """Removes a sampler route."""
        self._unary(self._gateway.DeleteRoute, gateway_pb2.DeleteRouteRequest(name=name), timeout)

    # ---------------------------------------------- profiles (fm-sampler)

    def put_profile(
        self,
        name: str,
        chain: types.Chain | str,
        *,
        timeout: float | None = None,
    ) -> types.Profile:
        """Stores a profile; returns it as stored (parameters normalised)."""
        request = sampler_pb2.PutProfileRequest(
            profile=sampler_pb2.Profile(name=name, chain=_convert.chain_to_proto(chain))
        )
        stub = self._sampler_stub()
        return _convert.profile_from_proto(
            self._unary(stub.PutProfile, request, timeout, gateway=False)
        )

    def get_profile(self, name: str, *, timeout: float | None = None) -> types.Profile:
        """One stored profile (NotFound when there is none of that name)."""
        stub = self._sampler_stub()
        request = sampler_pb2.GetProfileRequest(name=name)
        return _convert.profile_from_proto(
            self._unary(stub.GetProfile, request, timeout, gateway=False)
        )

    def list_profiles(self, *, timeout: float | None = None) -> list[types.Profile]:
        """Every stored profile ("default" among them)."""
        stub = self._sampler_stub()
        request = sampler_pb2.ListProfilesRequest()
        response = self._unary(stub.ListProfiles, request, timeout, gateway=False)
        return [_convert.profile_from_proto(p) for p in response.profiles]

    def delete_profile(self, name: str, *, timeout: float | None = None) -> None:
        """Deletes a stored profile."""
        stub = self._sampler_stub()
        request = sampler_pb2.DeleteProfileRequest(name=name)
        self._unary(stub.DeleteProfile, request, timeout, gateway=False)

    def list_stages(self, *, timeout: float | None = None) -> list[sampler_pb2.StageInfo]:
        """Every sampler stage with its parameters, ranges and defaults."""
        stub = self._sampler_stub()
        request = sampler_pb2.ListStagesRequest()
        return list(self._unary(stub.ListStages, request, timeout, gateway=False).stages)
