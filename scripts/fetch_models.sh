#!/usr/bin/env bash
# Downloads the public model files into DIR (default ./models) and checks
# their sha256 before use. For machines without ../shared/models.
set -euo pipefail
dir="${1:-models}"
mkdir -p "$dir"
# name | url | sha256
FILES=(
  "llama2-tokenizer.model|https://raw.githubusercontent.com/karpathy/llama2.c/350e04fe35433e6d2941dce5a1f53308f87058eb/tokenizer.model|9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347"
  "stories260K.bin|https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin|b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696"
  "tok512.bin|https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin|037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312"
  "tok512.model|https://raw.githubusercontent.com/pure-water/llama2.c/cba85b7c06886a94a7023c80456ba6f0863dac8a/data/tok512.model|fec6aa960a1fb3ebf71d26f9b0e486afcbd76c34cf0fbfb93e21126ca9f778d3"
  "stories260K.gguf|https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf|270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
)
for entry in "${FILES[@]}"; do
  IFS='|' read -r name url sha <<<"$entry"
  path="$dir/$name"
  if [ -f "$path" ] && echo "$sha  $path" | sha256sum -c --status; then
    continue
  fi
  echo "fetch_models: downloading $name"
  curl -fsSL --retry 3 -o "$path.part" "$url"
  if ! echo "$sha  $path.part" | sha256sum -c --status; then
    echo "fetch_models: $name: sha256 mismatch (expected $sha)" >&2
    rm -f "$path.part"
    exit 1
  fi
  mv "$path.part" "$path"
done
echo "fetch_models: files in $dir verified"
