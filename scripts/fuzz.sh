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
         libpcre2-8 libutf8proc openblas)
cflags=$(pkg-config --cflags absl_strings libpcre2-8 libutf8proc openblas)

# What the targets link: the tokenizer pipeline, the text library, the
# template interpreter and the model core (loaders, kernels, forward pass);
# no SentencePiece and no gRPC. Compiled once.
core=(common/gguf/gguf_file.cc common/json_nesting.cc common/utf8.cc common/text/*.cc
      common/jinja/*.cc common/half.cc common/log.cc common/request_id.cc
      common/mapped_file.cc
      common/constraint/*.cc)
# The model core is every services/model source but the gRPC service's
# (its CMake target fm_model_core), so a new kernel file is never missed.
for f in services/model/*.cc; do
  case "$(basename "$f" .cc)" in
    main | model_service | model_metrics | compute_loop) ;;
    *) core+=("$f") ;;
  esac
done
for f in added_tokens bpe_model bpe_tokenizer end_of_generation \
    gguf_pre_tokenizers gguf_tokenizer gguf_vocabulary hf_json_fields \
    hf_pipeline_json hf_tokenizer_json \
    normalizer pre_tokenizer spm_bpe_tokenizer tokenizer \
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

# The fm.v1 messages, for the targets that parse into them (the OpenAI
# request body): generated here by Debian's protoc (messages only, no
# gRPC) and compiled once, apart from the core that the other targets link.
proto_gen="$out/proto_gen"
mkdir -p "$proto_gen" "$out/proto_obj"
protoc -Iprotos --cpp_out="$proto_gen" protos/fm/v1/*.proto
protobuf_cflags=$(pkg-config --cflags protobuf)
protobuf_libs=$(pkg-config --libs protobuf)
export proto_gen protobuf_cflags
printf '%s\n' "$proto_gen"/fm/v1/*.pb.cc common/chain_proto_json.cc \
    services/gateway/openai/openai_request.cc \
    services/gateway/openai/openai_response.cc |
  xargs -P "${FM_JOBS:-2}" -I{} bash -c '
  obj="$out/proto_obj/$(basename {} .cc).o"
  clang++ -std=c++17 -O1 -g -fno-sanitize-recover=undefined -I. \
    -I"$proto_gen" $cflags $protobuf_cflags \
    -fsanitize=fuzzer-no-link,'"$sanitizers"' -c {} -o "$obj"'
proto_objects=("$out"/proto_obj/*.o)

# name | largest input (bytes) | sources [| protobuf: also the fm.v1
# messages and what parses into them]
TARGETS=(
  "gguf_tokenizer|16384|tests/fuzz/libfuzzer_gguf_tokenizer.cc tests/fuzz/gguf_tokenizer_fuzz.cc"
  "tokenizer_json|16384|tests/fuzz/libfuzzer_tokenizer_json.cc tests/fuzz/tokenizer_json_fuzz.cc"
  "chat_template|16384|tests/fuzz/libfuzzer_chat_template.cc tests/fuzz/chat_template_fuzz.cc"
  "gguf_model|65536|tests/fuzz/libfuzzer_gguf_model.cc tests/fuzz/gguf_model_fuzz.cc"
  "constraint|4096|tests/fuzz/libfuzzer_constraint.cc tests/fuzz/constraint_fuzz.cc"
  "json_schema|8192|tests/fuzz/libfuzzer_json_schema.cc tests/fuzz/json_schema_fuzz.cc tests/fuzz/constraint_fuzz.cc"
  "openai_request|16384|tests/fuzz/libfuzzer_openai_request.cc tests/fuzz/openai_request_fuzz.cc|protobuf"
)
for entry in "${TARGETS[@]}"; do
  IFS='|' read -r name max_len sources extra <<<"$entry"
  echo "fuzz: building $name"
  with=()
  if [ "${extra:-}" = "protobuf" ]; then
    with=(-I"$proto_gen" $protobuf_cflags "${proto_objects[@]}" $protobuf_libs)
  fi
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" -fsanitize=fuzzer,$sanitizers $sources "${objects[@]}" \
    "${with[@]}" $libs -o "$out/$name"
  work="$out/$name.corpus"
  rm -rf "$work" && mkdir -p "$work"
  cp "tests/fuzz/corpus/$name/"* "$work/"
  echo "fuzz: running $name for ${seconds}s"
  (cd "$out" && FM_LOG_LEVEL=ERROR "./$name" -max_total_time="$seconds" \
     -max_len="$max_len" \
     -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$name-" \
     "$name.corpus" 2>"$name.log") || {
    tail -40 "$out/$name.log" >&2
    echo "fuzz: $name FAILED (input saved as $out/$name-crash-*)" >&2
    exit 1
  }
  echo "fuzz: $name: $(grep -o 'Done [0-9]* runs' "$out/$name.log" | tail -1)"
done
