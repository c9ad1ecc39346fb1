#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the four services
# on loopback with stories260K and tok512, and streams a story to the
# terminal. Usage: bash scripts/run.sh [PROMPT] [fmctl generate options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh >/dev/null
models="${FM_MODELS:-}"
if [ -z "$models" ] && [ -d ../shared/models ]; then models="../shared/models"; fi
if [ -z "$models" ] || [ ! -f "$models/stories260K.bin" ] || [ ! -f "$models/tok512.model" ]; then
  models="models"
  bash scripts/fetch_models.sh "$models"
fi
prompt="${1:-Once upon a time}"
shift || true
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

addr=""
start() {  # NAME BINARY FLAGS...; sets $addr
  local name=$1; shift
  "build/bin/$1" --listen=127.0.0.1:0 --port_file="$dir/$name.port" "${@:2}" \
    >"$dir/$name.log" 2>&1 &
  for _ in $(seq 100); do [ -s "$dir/$name.port" ] && break; sleep 0.1; done
  [ -s "$dir/$name.port" ] || { echo "run: $name did not start:"; cat "$dir/$name.log"; exit 1; }
  addr="127.0.0.1:$(cat "$dir/$name.port")"
}
start tokenizer fm-tokenizer --tokenizer_model="$models/tok512.model"; tok=$addr
start model fm-model --model="$models/stories260K.bin"; model=$addr
start sampler fm-sampler --profiles="$dir/profiles.json"; sampler=$addr
start gateway fm-gateway --tokenizer="$tok" --model="$model" \
  --sampler="$sampler" --health_period=100ms; gateway=$addr
for _ in $(seq 100); do
  build/bin/fmctl health --target="$gateway" --timeout=1s >/dev/null 2>&1 && break
  sleep 0.1
done
echo "fmserve: tokenizer $tok, model $model, sampler $sampler, gateway $gateway"
echo "---"
printf '%s' "$prompt"  # the stream continues the prompt
build/bin/fmctl --gateway="$gateway" generate --max-tokens 256 "$@" "$prompt"
