#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts fm-tokenizer on
# loopback with the Llama 2 tokenizer, and tokenizes TEXT (default
# "Once upon a time"). Later stages (generation) extend this script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh >/dev/null
models="${FM_MODELS:-}"
if [ -z "$models" ] && [ -d ../shared/models ]; then models="../shared/models"; fi
if [ -z "$models" ] || [ ! -f "$models/llama2-tokenizer.model" ]; then
  models="models"
  bash scripts/fetch_models.sh "$models"
fi
text="${1:-Once upon a time}"
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
build/bin/fm-tokenizer --listen=127.0.0.1:0 --port_file="$dir/port" \
  --tokenizer_model="$models/llama2-tokenizer.model" 2>"$dir/log" &
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || { cat "$dir/log"; exit 1; }
addr="127.0.0.1:$(cat "$dir/port")"
build/bin/fmctl health --target="$addr" >/dev/null
echo "text: $text"
echo -n "ids:  "; build/bin/fmctl --tokenizer="$addr" tokenize --bos "$text"
