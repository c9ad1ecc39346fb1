"""fmserve against a running fmserve stack, checked against fmctl.

Run (after a build, with the four services up):

    PYTHONPATH=<build>/python /usr/bin/python3 -m unittest discover \
        -s clients/python/tests -v

Environment:
    FM_GATEWAY       gateway HOST:PORT (the live tests are skipped without it)
    FM_SAMPLER       fm-sampler HOST:PORT (profiles, stages)
    FM_TOKENIZER     fm-tokenizer HOST:PORT (fmctl tokenize, for comparison)
    FM_BIN_DIR       directory holding fmctl
    FM_GATEWAY_AUTH  optional: a gateway started with --auth_tokens_file
    FM_TOKEN         a token that file holds (with FM_GATEWAY_AUTH)

The tokenizer is expected to serve a chat template (--chat_template_file).
The offline tests at the end need no server.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import unittest
import uuid
from typing import Any

import grpc

import fmserve
from fmserve import _convert
from fmserve._stubs import common_pb2, sampler_pb2, sampler_pb2_grpc
from fmserve.stream import Stream

GATEWAY = os.environ.get("FM_GATEWAY", "")
SAMPLER = os.environ.get("FM_SAMPLER", "")
TOKENIZER = os.environ.get("FM_TOKENIZER", "")
BIN_DIR = os.environ.get("FM_BIN_DIR", "")
GATEWAY_AUTH = os.environ.get("FM_GATEWAY_AUTH", "")
TOKEN = os.environ.get("FM_TOKEN", "")

PROMPT = "Once upon a time"
CHAT = [{"role": "user", "content": "Tell me a story about a cat."}]
# A chain whose picks differ from greedy's: what the profile test stores.
HOT_CHAIN = [{"stage": "temperature", "temperature": 1.5}, {"stage": "dist"}]


def fmctl(*args: str) -> str:
    """fmctl's stdout; fails the test on a non-zero exit."""
    # Without FM_TOKEN / FM_GATEWAY: only the flags given here apply.
    env = {k: v for k, v in os.environ.items() if k not in ("FM_TOKEN", "FM_GATEWAY")}
    done = subprocess.run(
        [os.path.join(BIN_DIR, "fmctl"), *args],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"fmctl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8")


def texts(stream: Stream[fmserve.Delta]) -> dict[int, str]:
    """Each sequence's deltas joined, by index."""
    out: dict[int, str] = {}
    for delta in stream:
        out[delta.index] = out.get(delta.index, "") + delta.text
    return out


def fmctl_sequences(stdout: str) -> dict[int, str]:
    """fmctl's n > 1 output: "--- sequence I ---\\nTEXT\\n" per sequence."""
    out: dict[int, str] = {}
    parts = stdout.split("--- sequence ")
    assert parts[0] == "", stdout
    for part in parts[1:]:
        header, _, body = part.partition(" ---\n")
        assert body.endswith("\n"), part
        out[int(header)] = body[:-1]
    return out


@unittest.skipUnless(GATEWAY and SAMPLER and BIN_DIR, "FM_GATEWAY, FM_SAMPLER, FM_BIN_DIR unset")
class LiveTest(unittest.TestCase):
    client: fmserve.Client

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = fmserve.Client(GATEWAY, sampler_address=SAMPLER, timeout=60.0)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def gateway(self, *args: str) -> str:
        return fmctl(f"--gateway={GATEWAY}", *args)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    # ------------------------------------------------------ generation

    def test_generate_equals_fmctl(self) -> None:
        stream = self.client.generate(PROMPT, seed=1234, temperature=0.9, max_tokens=24)
        deltas = list(stream)
        text = "".join(d.text for d in deltas)
        expected = self.gateway(
            "generate", "--seed=1234", "--temperature=0.9", "--max-tokens=24", PROMPT
        )
        self.assertEqual(text + "\n", expected)  # fmctl ends the text with a newline
        self.assertGreater(len(text), 0)
        # The deltas' ids add up to max_tokens, and only the last one ends
        # the sequence, with usage.
        self.assertEqual(sum(len(d.token_ids) for d in deltas), 24)
        self.assertTrue(all(d.finish_reason is None for d in deltas[:-1]))
        last = deltas[-1]
        self.assertEqual(last.finish_reason, fmserve.FinishReason.LENGTH)
        self.assertIsNotNone(last.usage)
        assert last.usage is not None
        self.assertEqual(last.usage.completion_tokens, 24)
        self.assertEqual({d.seed for d in deltas}, {1234})
        self.assertEqual(self.client.detokenize([i for d in deltas for i in d.token_ids]), text)

    def test_generate_text_and_greedy(self) -> None:
        text = self.client.generate_text(PROMPT, temperature=0, max_tokens=24)
        expected = self.gateway("generate", "--temperature=0", "--max-tokens=24", PROMPT)
        self.assertEqual(text + "\n", expected)
        # Greedy needs no seed: the same text again.
        self.assertEqual(self.client.generate_text(PROMPT, temperature=0, max_tokens=24), text)

    def test_generate_n2_by_index(self) -> None:
        got = texts(self.client.generate(PROMPT, seed=99, temperature=1.0, max_tokens=20, n=2))
        expected = fmctl_sequences(
            self.gateway(
                "generate", "--seed=99", "--temperature=1.0", "--max-tokens=20", "--n=2", PROMPT
            )
        )
        self.assertEqual(sorted(got), [0, 1])
        self.assertEqual(got, expected)

    def test_generate_options_reach_the_server(self) -> None:
        deltas = list(
            self.client.generate(
                PROMPT, seed=5, max_tokens=8, logprobs=True, top_logprobs=3, no_cache=True
            )
        )
        tokens = [t for d in deltas for t in d.tokens]
        self.assertEqual([t.id for t in tokens], [i for d in deltas for i in d.token_ids])
        for t in tokens:
            self.assertLessEqual(t.logprob, 0.0)
            self.assertEqual(len(t.top_logprobs), 3)
        # A stop string ends the text before it.
        full = self.client.generate_text(PROMPT, temperature=0, max_tokens=24)
        word = full.split()[2]
        stopped = list(self.client.generate(PROMPT, temperature=0, max_tokens=24, stop=word))
        self.assertEqual(stopped[-1].finish_reason, fmserve.FinishReason.STOP)
        self.assertEqual(stopped[-1].stop_string, word)
        self.assertEqual("".join(d.text for d in stopped), full[: full.index(word)])

    def test_chat_equals_fmctl(self) -> None:
        deltas = list(self.client.chat(CHAT, seed=3, max_tokens=20))
        text = "".join(d.text for d in deltas)
        expected = self.gateway("chat", "--seed=3", "--max-tokens=20", json.dumps(CHAT))
        self.assertEqual(text + "\n", expected)
        self.assertIsNotNone(deltas[-1].finish_reason)
        self.assertEqual(self.client.chat_text(CHAT, seed=3, max_tokens=20), text)

    def test_score(self) -> None:
        continuations = [" there was", " banana"]
        result = self.client.score(PROMPT, continuations)
        expected = json.loads(self.gateway("score", PROMPT, *continuations))
        self.assertEqual(result.prompt_tokens, expected["prompt_tokens"])
        self.assertEqual(list(result.ranking), expected["ranking"])
        self.assertEqual([s.text for s in result.scores], continuations)
        for got, want in zip(result.scores, expected["scores"], strict=True):
            self.assertAlmostEqual(got.sum_logprob, want["sum_logprob"], places=5)
            self.assertEqual([t.id for t in got.tokens], [t["id"] for t in want["tokens"]])
            self.assertEqual("".join(t.text for t in got.tokens), got.text)
        # The likely continuation ranks first.
        self.assertEqual(result.ranking[0], 0)

    # ------------------------------------------------------- tokenizer

    def test_tokenize_round_trip(self) -> None:
        text = "Once upon a time, there was a cat."
        ids = self.client.tokenize(text)
        self.assertEqual(self.client.detokenize(ids), text)
        with_bos = self.client.tokenize(text, bos=True)
        self.assertEqual(with_bos[1:], ids)
        self.assertEqual(with_bos[0], self.client.info().tokenizer.special.bos_id)
        self.assertEqual(self.client.detokenize(with_bos), text)  # BOS decodes to nothing
        if TOKENIZER:
            expected = fmctl(f"--tokenizer={TOKENIZER}", "tokenize", text)
            self.assertEqual(" ".join(map(str, ids)) + "\n", expected)

    # -------------------------------------------------------- profiles

    def test_profiles(self) -> None:
        name = self.unique("pytest")
        self.addCleanup(self._delete_profile, name)
        stored = self.client.put_profile(name, HOT_CHAIN)
        self.assertEqual(stored.name, name)
        self.assertEqual([s["stage"] for s in stored.chain], ["temperature", "dist"])
        self.assertEqual(stored.chain[0]["temperature"], 1.5)
        self.assertEqual(self.client.get_profile(name), stored)
        self.assertIn(stored, self.client.list_profiles())
        # The chain as JSON text is the same chain.
        self.assertEqual(self.client.put_profile(name, json.dumps(HOT_CHAIN)), stored)

        # generate(profile=) samples with it: as the inline chain, as fmctl
        # --profile, and not as greedy does.
        by_profile = self.client.generate_text(PROMPT, profile=name, seed=42, max_tokens=24)
        by_chain = self.client.generate_text(PROMPT, chain=HOT_CHAIN, seed=42, max_tokens=24)
        self.assertEqual(by_profile, by_chain)
        expected = self.gateway(
            "generate", f"--profile={name}", "--seed=42", "--max-tokens=24", PROMPT
        )
        self.assertEqual(by_profile + "\n", expected)
        greedy = self.client.generate_text(PROMPT, temperature=0, max_tokens=24)
        self.assertNotEqual(by_profile, greedy)

        self.client.delete_profile(name)
        self.assertNotIn(name, [p.name for p in self.client.list_profiles()])
        with self.assertRaises(fmserve.NotFound) as caught:
            self.client.get_profile(name)
        self.assertIn(name, caught.exception.details)
        with self.assertRaises(fmserve.NotFound):
            self.client.generate_text(PROMPT, profile=name, max_tokens=4)

    def _delete_profile(self, name: str) -> None:
        try:
            self.client.delete_profile(name)
        except fmserve.NotFound:
            pass

    def test_list_stages(self) -> None:
        stages = {s.name: s for s in self.client.list_stages()}
        self.assertIn("top_k", stages)
        self.assertEqual(stages["dist"].kind, "selector")
        self.assertIn("k", [p.name for p in stages["top_k"].params])

    def test_profiles_need_a_sampler_address(self) -> None:
        with fmserve.Client(GATEWAY) as client, self.assertRaises(ValueError):
            client.list_profiles()

    # ---------------------------------------------------------- routes

    def test_routes(self) -> None:
        routes = {r.name: r.target for r in self.client.list_routes()}
        self.assertIn("default", routes)
        expected = dict(
            line.split("\t") for line in self.gateway("routes", "list").splitlines()
        )
        self.assertEqual(routes, expected)

        name = self.unique("pytest")
        self.addCleanup(self._delete_route, name)
        self.assertEqual(
            self.client.set_route(name, routes["default"]), fmserve.Route(name, routes["default"])
        )
        self.assertIn(fmserve.Route(name, routes["default"]), self.client.list_routes())
        text = self.client.generate_text(PROMPT, temperature=0, max_tokens=8, sampler_route=name)
        self.assertEqual(text, self.client.generate_text(PROMPT, temperature=0, max_tokens=8))
        self.client.delete_route(name)
        self.assertNotIn(name, [r.name for r in self.client.list_routes()])

    def _delete_route(self, name: str) -> None:
        try:
            self.client.delete_route(name)
        except fmserve.FmError:
            pass

    # ----------------------------------------------------- health, info

    def test_health_and_info(self) -> None:
        self.assertEqual(self.client.health(), "SERVING")
        info = self.client.info()
        self.assertGreater(info.tokenizer.vocab_size, 0)
        self.assertEqual(info.model.vocab_size, info.tokenizer.vocab_size)
        self.assertIn("default", [r.name for r in info.routes])

    # ---------------------------------------------------------- errors

    def test_invalid_argument_names_the_field(self) -> None:
        with self.assertRaises(fmserve.FmError) as caught:
            self.client.generate_text(PROMPT, top_p=5, max_tokens=4)
        error = caught.exception
        self.assertIsInstance(error, fmserve.InvalidArgument)
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("top_p", error.details)
        self.assertIn("top_p", str(error))
        # Unary calls raise the same way.
        with self.assertRaises(fmserve.InvalidArgument):
            self.client.score(PROMPT, [])

    def test_deadline(self) -> None:
        started = time.monotonic()
        with self.assertRaises(fmserve.DeadlineExceeded) as caught:
            for _ in self.client.generate(
                PROMPT, max_tokens=400, ignore_eos=True, no_cache=True, timeout=0.001
            ):
                pass
        self.assertEqual(caught.exception.code, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(time.monotonic() - started, 10)
        # The client's default deadline applies when the call gives none.
        with fmserve.Client(GATEWAY, timeout=0.001) as hurried:
            with self.assertRaises(fmserve.DeadlineExceeded):
                hurried.generate_text(PROMPT, max_tokens=400, ignore_eos=True, no_cache=True)

    # ------------------------------------------------------ cancelling

    def sampled(self) -> int:
        """fm-sampler's lifetime count of tokens chosen."""
        with grpc.insecure_channel(SAMPLER) as channel:
            stub = sampler_pb2_grpc.SamplerServiceStub(channel)
            return stub.Info(sampler_pb2.SamplerInfoRequest(), timeout=10).tokens_sampled

    def wait_idle(self) -> None:
        """Until the gateway runs no generation (at most 10 s)."""
        deadline = time.monotonic() + 10
        while self.client.info().active_generations > 0:
            self.assertLess(time.monotonic(), deadline, "a generation is still running")
            time.sleep(0.02)

    # 16 sequences to the end of the context: 8,000 tokens to sample unless
    # the generation is cancelled after the first deltas.
    LONG = dict(n=16, max_tokens=500, ignore_eos=True, no_cache=True, seed=7)

    def assert_cancelled(self, before: int) -> None:
        """Few tokens were sampled since ``before``: the call was cancelled."""
        self.wait_idle()
        # Generous: a cancelled call may have run some steps meanwhile.
        self.assertLess(self.sampled() - before, 16 * 500 // 2)
        # The client is still usable.
        self.assertTrue(self.client.generate_text(PROMPT, max_tokens=4, seed=1))

    def test_breaking_out_cancels(self) -> None:
        self.wait_idle()
        before = self.sampled()
        for count, _ in enumerate(self.client.generate(PROMPT, **self.LONG)):
            if count == 2:
                break
        self.assert_cancelled(before)

    def test_close_cancels(self) -> None:
        # The stream stays referenced: only close() can cancel it.
        self.wait_idle()
        before = self.sampled()
        stream = self.client.generate(PROMPT, **self.LONG)
        self.assertIsInstance(next(stream), fmserve.Delta)
        stream.close()
        self.assert_cancelled(before)
        self.assertEqual(list(stream), [])  # closed: nothing more, no error
        stream.close()  # idempotent

        before = self.sampled()
        with self.client.generate(PROMPT, **self.LONG) as stream:
            next(stream)
        self.assert_cancelled(before)
        self.assertEqual(list(stream), [])

    # ------------------------------------------------------------ auth

    @unittest.skipUnless(GATEWAY_AUTH and TOKEN, "FM_GATEWAY_AUTH, FM_TOKEN unset")
    def test_bearer_token(self) -> None:
        with fmserve.Client(GATEWAY_AUTH) as anonymous:
            with self.assertRaises(fmserve.Unauthenticated) as caught:
                anonymous.generate_text(PROMPT, max_tokens=4)
            self.assertEqual(caught.exception.code, grpc.StatusCode.UNAUTHENTICATED)
            with self.assertRaises(fmserve.Unauthenticated):
                anonymous.tokenize("hello")
            self.assertEqual(anonymous.health(), "SERVING")  # health stays public
        with fmserve.Client(GATEWAY_AUTH, token="x" * 16 + "-not-a-token") as wrong:
            with self.assertRaises(fmserve.Unauthenticated):
                wrong.generate_text(PROMPT, max_tokens=4)
        with fmserve.Client(GATEWAY_AUTH, token=TOKEN) as client:
            text = client.generate_text(PROMPT, temperature=0, max_tokens=8)
            self.assertEqual(text, self.client.generate_text(PROMPT, temperature=0, max_tokens=8))
            self.assertEqual(client.detokenize(client.tokenize("hello")), "hello")


class OfflineTest(unittest.TestCase):
    """What needs no server: conversions and error mapping."""

    def test_chain_round_trip(self) -> None:
        chain = [{"stage": "top_k", "k": 40}, {"stage": "min_p", "p": 0.05}, {"stage": "dist"}]
        proto = _convert.chain_to_proto(chain)
        self.assertEqual([s.stage for s in proto.stages], ["top_k", "min_p", "dist"])
        self.assertEqual(proto.stages[0].params["k"], 40)
        self.assertEqual(_convert.chain_from_proto(proto), chain)
        self.assertEqual(_convert.chain_to_proto(json.dumps(chain)), proto)
        with self.assertRaisesRegex(ValueError, 'chain\\[1\\] has no string "stage"'):
            _convert.chain_to_proto([{"stage": "top_k"}, {"k": 1}])

    def test_request_like_fmctl(self) -> None:
        r = _convert.generate_options(temperature=0.9, max_tokens=24, seed=0, stop="\n")
        self.assertTrue(r.shorthand.HasField("temperature"))
        self.assertFalse(r.shorthand.HasField("top_k"))  # the gateway's default
        self.assertTrue(r.HasField("seed"))  # seed 0 is a seed, not "unset"
        self.assertEqual(list(r.stop), [b"\n"])
        self.assertFalse(r.HasField("sampling"))
        self.assertEqual(_convert.generate_options(profile="p").sampling.profile, "p")
        with self.assertRaises(ValueError):
            _convert.generate_options(profile="p", chain=[{"stage": "greedy"}])
        c = _convert.generate_options(constraint={"choice": {"choices": ["yes", "no"]}})
        self.assertEqual(list(c.constraint.choice.choices), ["yes", "no"])

    def test_error_mapping(self) -> None:
        class Failed(grpc.RpcError):
            def code(self) -> grpc.StatusCode:
                return grpc.StatusCode.RESOURCE_EXHAUSTED

            def details(self) -> str:
                return "too many generations"

        error = fmserve.errors.error_from_rpc(Failed())
        self.assertIsInstance(error, fmserve.ResourceExhausted)
        self.assertEqual(error.details, "too many generations")
        other = fmserve.errors.error_from_code(grpc.StatusCode.DATA_LOSS, "lost")
        self.assertIs(type(other), fmserve.FmError)
        self.assertEqual(str(other), "DATA_LOSS: lost")

    def test_in_stream_error_raises(self) -> None:
        ok = sampler_pb2.SamplerSessionResponse(seed=1)
        bad = sampler_pb2.SamplerSessionResponse(
            error=common_pb2.Error(code=11, message="step 9: past the context")
        )

        class Call:
            def __init__(self, messages: list[Any]) -> None:
                self.messages = iter(messages)
                self.cancelled = False

            def __next__(self) -> Any:
                return next(self.messages)

            def cancel(self) -> bool:
                self.cancelled = True
                return True

        stream = Stream(Call([ok, bad, ok]), lambda m: m.seed)
        self.assertEqual(next(stream), 1)
        with self.assertRaises(fmserve.OutOfRange) as caught:
            next(stream)
        self.assertEqual(caught.exception.details, "step 9: past the context")

        call = Call([ok, ok])
        with Stream(call, lambda m: m.seed) as s:
            next(s)
        self.assertTrue(call.cancelled)


if __name__ == "__main__":
    unittest.main()
