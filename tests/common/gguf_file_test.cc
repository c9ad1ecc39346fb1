// The shared GGUF reader: metadata arrays kept or skipped, vocabulary-only
// files, and hostile headers (truncations, absurd counts) refused with
// DATA_LOSS or INVALID_ARGUMENT, never a crash.
#include "common/gguf/gguf_file.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/gguf_writer.h"
#include "tests/support/test_env.h"

namespace fm::gguf {
namespace {

absl::StatusOr<File> ParseBytes(const std::string& bytes, bool keep_arrays) {
  ParseOptions options;
  options.keep_arrays = keep_arrays;
  return Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
               options);
}

std::string VocabBytes() {
  testing::GgufWriter w;
  w.AddString("tokenizer.ggml.model", "gpt2");
  w.AddStringArray("tokenizer.ggml.tokens", {"a", "b", "ab", "\xC4\xA0"});
  w.AddInt32Array("tokenizer.ggml.token_type", {1, 1, 1, 3});
  w.AddFloat32Array("tokenizer.ggml.scores", {0.0f, -1.5f, 2.25f, 0.0f});
  w.AddStringArray("tokenizer.ggml.merges", {"a b"});
  w.AddBool("tokenizer.ggml.add_bos_token", true);
  w.AddUint32("tokenizer.ggml.bos_token_id", 3);
  return w.Serialize();
}

TEST_CASE("arrays are kept when asked and skipped otherwise", "[gguf]") {
  auto kept = ParseBytes(VocabBytes(), true);
  INFO(kept.status().ToString());
  REQUIRE(kept.ok());
  const Value* tokens = kept->Find("tokenizer.ggml.tokens");
  REQUIRE(tokens != nullptr);
  CHECK(tokens->type == kArray);
  CHECK(tokens->array_type == kString);
  CHECK(tokens->strings == std::vector<std::string>{"a", "b", "ab", "\xC4\xA0"});
  CHECK(kept->Find("tokenizer.ggml.token_type")->ints ==
        std::vector<int64_t>{1, 1, 1, 3});
  CHECK(kept->Find("tokenizer.ggml.scores")->floats ==
        std::vector<float>{0.0f, -1.5f, 2.25f, 0.0f});
  CHECK(kept->Find("tokenizer.ggml.add_bos_token")->u == 1);
  CHECK(kept->Find("tokenizer.ggml.bos_token_id")->i == 3);
  CHECK(kept->Find("nothing") == nullptr);
  CHECK(kept->tensors.empty());

  auto skipped = ParseBytes(VocabBytes(), false);
  REQUIRE(skipped.ok());
  const Value* scores = skipped->Find("tokenizer.ggml.scores");
  REQUIRE(scores != nullptr);
  CHECK(scores->array_len == 4);
  CHECK(scores->floats.empty());
}

TEST_CASE("a truncated vocabulary is DATA_LOSS at every cut", "[gguf]") {
  const std::string full = VocabBytes();
  // The writer pads to 32 bytes; the metadata ends before the padding.
  for (size_t cut = 0; cut + 32 < full.size(); ++cut) {
    auto r = ParseBytes(full.substr(0, cut), true);
    INFO("cut at " << cut << ": " << r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK((r.status().code() == absl::StatusCode::kDataLoss ||
           r.status().code() == absl::StatusCode::kInvalidArgument));
  }
}

TEST_CASE("absurd counts and lengths are refused before allocating",
          "[gguf]") {
  // A string array declaring 2^40 strings, a float array declaring 2^61
  // elements (overflowing bytes), and one declaring more than the file.
  auto header = [](uint64_t n_kv) {
    std::string h("GGUF\3\0\0\0", 8);
    h.append(8, '\0');  // no tensors
    h.append(reinterpret_cast<const char*>(&n_kv), 8);
    return h;
  };
  auto key = [](const std::string& k) {
    std::string out;
    const uint64_t n = k.size();
    out.append(reinterpret_cast<const char*>(&n), 8);
    return out + k;
  };
  auto array = [](uint32_t type, uint64_t len) {
    std::string out;
    const uint32_t kind = kArray;
    out.append(reinterpret_cast<const char*>(&kind), 4);
    out.append(reinterpret_cast<const char*>(&type), 4);
    out.append(reinterpret_cast<const char*>(&len), 8);
    return out;
  };
  for (const auto& [type, len] :
       std::vector<std::pair<uint32_t, uint64_t>>{{kString, 1ull << 40},
                                                  {kFloat32, 1ull << 61},
                                                  {kInt32, 1000}}) {
    CAPTURE(type, len);
    const std::string bytes = header(1) + key("k") + array(type, len);
    auto r = ParseBytes(bytes, true);
    REQUIRE_FALSE(r.ok());
    CHECK((r.status().code() == absl::StatusCode::kDataLoss ||
           r.status().code() == absl::StatusCode::kInvalidArgument));
  }
  auto many_keys = ParseBytes(header(1ull << 40), true);
  CHECK(many_keys.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(LooksLikeGguf("GGU"));
  CHECK(LooksLikeGguf(VocabBytes()));
}

TEST_CASE("llama.cpp's vocabulary-only Llama GGUF", "[gguf][models]") {
  const std::string path = testing::ModelFile("ggml-vocab-llama-spm.gguf");
  FM_REQUIRE_FILE_OR_SKIP(path, "ggml-vocab-llama-spm.gguf");
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto f = ParseBytes(ss.str(), true);
  INFO(f.status().ToString());
  REQUIRE(f.ok());
  CHECK(f->Find("tokenizer.ggml.model")->str == "llama");
  CHECK(f->Find("tokenizer.ggml.tokens")->strings.size() == 32000);
  CHECK(f->Find("tokenizer.ggml.scores")->floats.size() == 32000);
  CHECK(f->Find("tokenizer.ggml.token_type")->ints.size() == 32000);
  CHECK(f->Find("tokenizer.ggml.tokens")->strings[1] == "<s>");
}

}  // namespace
}  // namespace fm::gguf
