// The fuzz targets in every build (no clang needed): each committed seed
// and every input a fuzzer once crashed on (tests/fuzz/regressions), then
// a bounded number of seeded mutations of the seeds. Passing means no
// crash, no exception escaping, no hang (CTest's timeout).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/chat_template_fuzz.h"
#include "tests/fuzz/constraint_fuzz.h"
#include "tests/fuzz/gguf_model_fuzz.h"
#include "tests/fuzz/gguf_tokenizer_fuzz.h"
#include "tests/fuzz/json_schema_fuzz.h"
#include "tests/fuzz/openai_request_fuzz.h"
#include "tests/fuzz/tokenizer_json_fuzz.h"
#include "tests/support/test_env.h"

namespace fm::fuzz {
namespace {

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> contents;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    contents.push_back(ss.str());
  }
  return contents;
}

using Target = int (*)(const uint8_t*, size_t);

int Run(Target target, const std::string& bytes) {
  return target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// The seeds of tests/fuzz/corpus/NAME, the inputs of regressions/NAME,
// and `mutations` seeded mutations of the seeds.
void RunTarget(const std::string& name, Target target, size_t min_seeds,
               size_t min_crashes, int mutations) {
  const std::string root = testing::SourceDir() + "/tests/fuzz/";
  const std::vector<std::string> seeds = FilesIn(root + "corpus/" + name);
  const std::vector<std::string> crashes = FilesIn(root + "regressions/" + name);
  REQUIRE(seeds.size() >= min_seeds);
  REQUIRE(crashes.size() >= min_crashes);
  int runs = 0;
  for (const std::string& input : seeds) runs += Run(target, input) == 0;
  for (const std::string& input : crashes) runs += Run(target, input) == 0;
  std::mt19937 rng(20261201);
  for (int i = 0; i < mutations; ++i) {
    std::string input = seeds[rng() % seeds.size()];
    switch (rng() % 4) {
      case 0:  // flip a few bytes
        for (int k = 1 + rng() % 4; k > 0; --k) {
          input[rng() % input.size()] ^= static_cast<char>(1 + rng() % 255);
        }
        break;
      case 1:  // truncate
        input.resize(rng() % input.size());
        break;
      case 2: {  // overwrite 8 bytes with an extreme count
        const uint64_t extreme[] = {0, 1, 0xFFFFFFFFull, 1ull << 40,
                                    ~0ull, 255, 256, 65536};
        const uint64_t v = extreme[rng() % 8];
        const size_t at = rng() % (input.size() > 8 ? input.size() - 8 : 1);
        input.replace(at, 8, reinterpret_cast<const char*>(&v), 8);
        break;
      }
      default:  // duplicate a slice
        input.insert(rng() % input.size(),
                     input.substr(rng() % input.size(), rng() % 64));
    }
    runs += Run(target, input) == 0;
  }
  CHECK(runs == static_cast<int>(seeds.size() + crashes.size()) + mutations);
}

TEST_CASE("GGUF tokenizer: seeds, past crashes and mutations", "[fuzz]") {
  RunTarget("gguf_tokenizer", FuzzGgufTokenizer, 3, 2, 3000);
}

TEST_CASE("GGUF model: seeds, past crashes and mutations", "[fuzz]") {
  RunTarget("gguf_model", FuzzGgufModel, 13, 2, 3000);
}

TEST_CASE("chat template: seeds, past crashes and mutations", "[fuzz]") {
  RunTarget("chat_template", FuzzChatTemplate, 4, 0, 3000);
}

TEST_CASE("constraints: seeds, past crashes and mutations", "[fuzz]") {
  RunTarget("constraint", FuzzConstraint, 6, 0, 3000);
}

TEST_CASE("JSON Schema: seeds, past crashes and mutations", "[fuzz]") {
  RunTarget("json_schema", FuzzJsonSchema, 8, 1, 3000);
}

TEST_CASE("OpenAI request bodies: seeds and mutations", "[fuzz]") {
  RunTarget("openai_request", FuzzOpenAiRequest, 6, 0, 3000);
}

TEST_CASE("tokenizer.json: seeds, past crashes and mutations", "[fuzz]") {
  RunTarget("tokenizer_json", FuzzTokenizerJson, 4, 0, 3000);
}

}  // namespace
}  // namespace fm::fuzz
