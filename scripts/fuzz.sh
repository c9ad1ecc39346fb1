#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) and runs each for SECONDS (default 60) on
# its committed seed corpus (tests/fuzz/corpus/NAME), in a scratch copy so
# the corpus in the tree stays small. A crash leaves its input in the
# output directory (FM_FUZZ_OUT, default build-fuzz) and fails the script.
#   bash scripts/fuzz.sh [SECONDS]
# Exit 77 (CTest: skipped) when clang is missing, unless FM_REQUIRE_FUZZ=1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out="${FM_FUZZ_OUT:-build-fuzz}"
mkdir -p "$out/obj"
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is missing (apt-get install clang)" >&2
  [ "${FM_REQUIRE_FUZZ:-}" = "1" ] && exit 1
  exit 77
fi
sanitizers=address,undefined
flags=(-std=c++17 -O1 -g -fno-sanitize-recover=undefined -I.)
libs=$(pkg-config --cflags --libs absl_strings absl_status absl_statusor \
         absl_flat_hash_map absl_str_format absl_hash absl_synchronization \
         libpcre2-8 libutf8proc)
cflags=$(pkg-config --cflags absl_strings libpcre2-8 libutf8proc)

# What the targets link: the tokenizer pipeline, the text library and the
# template interpreter; no SentencePiece and no gRPC. Compiled once.
core=(common/gguf/gguf_file.cc common/json_nesting.cc common/utf8.cc common/text/*.cc
      common/jinja/*.cc)
for f in added_tokens bpe_model bpe_tokenizer end_of_generation \
    gguf_pre_tokenizers gguf_tokenizer gguf_vocabulary hf_json_fields \
    hf_pipeline_json hf_tokenizer_json \
    normalizer pre_tokenizer regex spm_bpe_tokenizer tokenizer \
    tokenizer_json_reader unicode; do
  core+=("services/tokenizer/$f.cc")
done
echo "fuzz: compiling ${#core[@]} files"
export out cflags
printf '%s\n' "${core[@]}" | xargs -P "${FM_JOBS:-2}" -I{} bash -c '
  obj="$out/obj/$(echo {} | tr / _).o"
  clang++ -std=c++17 -O1 -g -fno-sanitize-recover=undefined -I. $cflags \
    -fsanitize=fuzzer-no-link,'"$sanitizers"' -c {} -o "$obj"'
objects=("$out"/obj/*.o)

# name | sources
TARGETS=(
  "gguf_tokenizer|tests/fuzz/libfuzzer_gguf_tokenizer.cc tests/fuzz/gguf_tokenizer_fuzz.cc"
  "tokenizer_json|tests/fuzz/libfuzzer_tokenizer_json.cc tests/fuzz/tokenizer_json_fuzz.cc"
  "chat_template|tests/fuzz/libfuzzer_chat_template.cc tests/fuzz/chat_template_fuzz.cc"
)
for entry in "${TARGETS[@]}"; do
  IFS='|' read -r name sources <<<"$entry"
  echo "fuzz: building $name"
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" -fsanitize=fuzzer,$sanitizers $sources "${objects[@]}" \
    $libs -o "$out/$name"
  work="$out/$name.corpus"
  rm -rf "$work" && mkdir -p "$work"
  cp "tests/fuzz/corpus/$name/"* "$work/"
  echo "fuzz: running $name for ${seconds}s"
  (cd "$out" && "./$name" -max_total_time="$seconds" -max_len=16384 \
     -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$name-" \
     "$name.corpus" 2>"$name.log") || {
    tail -40 "$out/$name.log" >&2
    echo "fuzz: $name FAILED (input saved as $out/$name-crash-*)" >&2
    exit 1
  }
  echo "fuzz: $name: $(grep -o 'Done [0-9]* runs' "$out/$name.log" | tail -1)"
done
