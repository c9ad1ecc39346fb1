#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the four services
# on loopback with the embedded default model (models/: stories260K and
# tok512, pinned by sha256), and streams a story to the terminal. No
# network is needed beyond Debian's package archive.
#   bash scripts/run.sh [PROMPT] [fmctl generate options...]
# Another model: FM_MODEL=PATH [FM_MODEL_SHA256=HEX] and
# FM_TOKENIZER_MODEL=PATH [FM_TOKENIZER_SHA256=HEX].
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh >/dev/null
if [ -z "${FM_MODEL:-}" ]; then
  FM_MODEL=models/stories260K.bin
  FM_MODEL_SHA256=b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696
fi
if [ -z "${FM_TOKENIZER_MODEL:-}" ]; then
  FM_TOKENIZER_MODEL=models/tok512.model
  FM_TOKENIZER_SHA256=fec6aa960a1fb3ebf71d26f9b0e486afcbd76c34cf0fbfb93e21126ca9f778d3
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
start tokenizer fm-tokenizer --tokenizer_model="$FM_TOKENIZER_MODEL" \
  --tokenizer_sha256="${FM_TOKENIZER_SHA256:-}"; tok=$addr
start model fm-model --model="$FM_MODEL" --model_sha256="${FM_MODEL_SHA256:-}"; model=$addr
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
