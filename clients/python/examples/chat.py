#!/usr/bin/python3
"""A conversation through the model's chat template, the reply streamed.

    /usr/bin/python3 examples/chat.py --gateway HOST:PORT "Tell me a story"

Each positional argument is a user message, answered in turn, so later ones
see the earlier replies. The tokenizer must serve a chat template.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import _path  # noqa: F401  (finds the built package from a source checkout)

import fmserve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", nargs="+", help="user messages, in order")
    parser.add_argument("--gateway", default=os.environ.get("FM_GATEWAY", "127.0.0.1:50050"))
    parser.add_argument("--token", default=os.environ.get("FM_TOKEN"))
    parser.add_argument("--system", help="a system message first")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()

    conversation: list[dict[str, Any]] = []
    if args.system:
        conversation.append({"role": "system", "content": args.system})
    with fmserve.Client(args.gateway, token=args.token) as client:
        for message in args.messages:
            conversation.append({"role": "user", "content": message})
            print(f"user: {message}\nassistant:", end="", flush=True)
            reply = []
            try:
                for delta in client.chat(conversation, max_tokens=args.max_tokens, seed=args.seed):
                    reply.append(delta.text)
                    print(delta.text, end="", flush=True)
            except fmserve.FmError as e:
                print(f"\nerror: {e}", file=sys.stderr)
                return 1
            print()
            conversation.append({"role": "assistant", "content": "".join(reply)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
