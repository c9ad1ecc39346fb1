#!/usr/bin/python3
"""Sampler profiles: store a strategy once, use it by name.

    /usr/bin/python3 examples/profiles.py --gateway HOST:PORT --sampler HOST:PORT
        [list | get NAME | put NAME CHAIN_JSON | delete NAME | demo]

`demo` (the default) stores a profile, generates with it beside greedy
decoding, and deletes it again. Profiles live in fm-sampler, so the
sampler's address is needed as well as the gateway's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import _path  # noqa: F401  (finds the built package from a source checkout)

import fmserve

DEMO_CHAIN = [
    {"stage": "top_k", "k": 20},
    {"stage": "temperature", "temperature": 1.2},
    {"stage": "dist"},
]


def show(profile: fmserve.Profile) -> None:
    print(f"{profile.name}\t{json.dumps(profile.chain)}")


def demo(client: fmserve.Client) -> None:
    name = "example-lively"
    show(client.put_profile(name, DEMO_CHAIN))
    try:
        prompt = "Once upon a time"
        print("stages:", ", ".join(s.name for s in client.list_stages()))
        print("greedy: ", client.generate_text(prompt, temperature=0, max_tokens=24))
        for seed in (1, 2):
            text = client.generate_text(prompt, profile=name, seed=seed, max_tokens=24)
            print(f"{name} (seed {seed}):", text)
    finally:
        client.delete_profile(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="demo",
                        choices=["list", "get", "put", "delete", "demo"])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--gateway", default=os.environ.get("FM_GATEWAY", "127.0.0.1:50050"))
    parser.add_argument("--sampler", default=os.environ.get("FM_SAMPLER", "127.0.0.1:50053"))
    parser.add_argument("--token", default=os.environ.get("FM_TOKEN"))
    args = parser.parse_args()
    expected = {"list": 0, "get": 1, "put": 2, "delete": 1, "demo": 0}[args.command]
    if len(args.args) != expected:
        parser.error(f"{args.command} takes {expected} argument(s)")

    with fmserve.Client(args.gateway, token=args.token, sampler_address=args.sampler) as client:
        try:
            if args.command == "list":
                for profile in client.list_profiles():
                    show(profile)
            elif args.command == "get":
                show(client.get_profile(args.args[0]))
            elif args.command == "put":
                show(client.put_profile(args.args[0], args.args[1]))
            elif args.command == "delete":
                client.delete_profile(args.args[0])
            else:
                demo(client)
        except fmserve.FmError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
