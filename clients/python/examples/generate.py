#!/usr/bin/python3
"""Streams a generation to stdout, as `fmctl generate` prints it.

    /usr/bin/python3 examples/generate.py --gateway HOST:PORT "Once upon a time"
"""

from __future__ import annotations

import argparse
import os
import sys

import _path  # noqa: F401  (finds the built package from a source checkout)

import fmserve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt")
    parser.add_argument("--gateway", default=os.environ.get("FM_GATEWAY", "127.0.0.1:50050"))
    parser.add_argument("--token", default=os.environ.get("FM_TOKEN"))
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--stop", action="append")
    parser.add_argument("--profile")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    usage: fmserve.Usage | None = None
    with fmserve.Client(args.gateway, token=args.token, timeout=args.timeout) as client:
        try:
            # Leaving the `with` early (Ctrl-C included) cancels the call.
            with client.generate(
                args.prompt,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                top_k=args.top_k,
                top_p=args.top_p,
                seed=args.seed,
                stop=args.stop,
                profile=args.profile,
            ) as stream:
                for delta in stream:
                    sys.stdout.write(delta.text)
                    sys.stdout.flush()
                    if delta.usage is not None:
                        usage = delta.usage
        except fmserve.FmError as e:
            print(f"\nerror: {e}", file=sys.stderr)
            return 1
    sys.stdout.write("\n")
    if usage is not None:
        print(
            f"[{usage.completion_tokens} tokens, {usage.tokens_per_second:.0f} tokens/s]",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
