// Constraint benchmark: compile time, and the time of every token mask a
// constrained generation asks for (cache hits included), over real
// tokenizer vocabularies, one thread. Each walk picks random allowed
// tokens until end of generation, as sampling from a model that knows
// nothing of the format would. Prints a Markdown table (see RESULTS.md).
// With --schemas, also a JSON Schema corpus: every *.json in each given
// directory (one schema per file), and every schema of a
// JSON-Schema-Test-Suite checkout (its tests/draft2020-12/*.json) that
// compiles; one row per vocabulary and corpus, compile and mask times
// pooled over the corpus.
//   mask_bench [--walks=N] [--schemas=DIR[,DIR...]] TOKENIZER_FILE...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/constraint/choice_compiler.h"
#include "common/constraint/compiled_constraint.h"
#include "common/constraint/json_schema_compiler.h"
#include "common/constraint/regex_compiler.h"
#include "common/constraint/token_trie.h"
#include "services/sampler/vocabulary_source.h"
#include "services/tokenizer/tokenizer_file.h"

namespace fm::bench {
namespace {

using Clock = std::chrono::steady_clock;

double MicrosSince(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

// The tokenizer's vocabulary as fm-sampler builds it from GetVocab.
std::shared_ptr<const constraint::TokenVocabulary> Load(
    const std::string& path) {
  auto loaded = tokenizer::LoadTokenizerFile(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(),
                 loaded.status().ToString().c_str());
    std::exit(2);
  }
  const tokenizer::Tokenizer& t = *loaded->tokenizer;
  fm::v1::GetVocabResponse vocab;
  for (TokenId id = 0; id < t.vocab_size(); ++id) {
    const text::VocabEntry& e = t.entry(id);
    fm::v1::VocabEntry* out = vocab.add_entries();
    out->set_piece(e.piece);
    out->set_text(e.text);
    out->set_type(static_cast<fm::v1::PieceType>(static_cast<int>(e.type) + 1));
  }
  const text::SpecialIds special = t.special_ids();
  vocab.mutable_special()->set_eos_id(special.eos);
  for (TokenId id : special.end_of_generation) {
    vocab.mutable_special()->add_end_of_generation_ids(id);
  }
  vocab.mutable_decode_rules()->set_add_dummy_prefix(
      loaded->identity.add_dummy_prefix);
  vocab.mutable_decode_rules()->set_remove_extra_whitespaces(
      loaded->identity.remove_extra_whitespaces);
  vocab.mutable_decode_rules()->set_byte_level(loaded->identity.byte_level);
  return sampler::ConstraintVocabulary(vocab, loaded->identity.model_sha256);
}

struct Case {
  const char* name;
  bool is_choice;
  std::string source;  // a regex, or choices separated by '|'
};

std::vector<Case> Cases() {
  std::string labels;
  for (int i = 0; i < 200; ++i) {
    labels += absl::StrFormat("%slabel_%03d", i ? "|" : "", i);
  }
  return {
      {"phone", false, "\\(?[0-9]{3}\\)? ?[0-9]{3}-[0-9]{4}"},
      {"date-time", false,
       "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):"
       "[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"},
      {"email", false,
       "[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,15}(\\.[a-z]{2,6}){1,2}"},
      {"json object", false,
       "\\{\"name\": \"[^\"\\\\\\x00-\\x1f]{1,32}\", \"age\": "
       "(0|[1-9][0-9]{0,2}), "
       "\"tags\": \\[(\"[a-z]{1,10}\"(, \"[a-z]{1,10}\"){0,4})?\\]\\}"},
      {"free sentence", false, "[A-Z][^\\n.!?]{0,120}[.!?]"},
      {"200 labels", true, labels},
  };
}

struct Result {
  double compile_us = 0;
  std::vector<double> mask_us;
  int64_t tokens = 0;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// `walks` random walks of at most `max_steps` tokens, timing every mask.
void Walk(constraint::CompiledConstraint& compiled,
          const constraint::TokenVocabulary& vocab, int walks, int max_steps,
          Result* result) {
  std::mt19937 rng(42);
  for (int w = 0; w < walks; ++w) {
    constraint::ConstraintState state = compiled.Initial();
    for (int step = 0; step < max_steps; ++step) {
      const auto t = Clock::now();
      auto mask = compiled.Mask(state);
      result->mask_us.push_back(MicrosSince(t));
      std::vector<TokenId> allowed;
      for (size_t word = 0; word < mask->words.size(); ++word) {
        for (uint64_t bits = mask->words[word]; bits != 0; bits &= bits - 1) {
          allowed.push_back(
              static_cast<TokenId>(word * 64 + __builtin_ctzll(bits)));
        }
      }
      if (allowed.empty()) break;
      const TokenId token = allowed[rng() % allowed.size()];
      compiled.Advance(state, token);
      ++result->tokens;
      if (vocab.bytes[token].empty()) break;  // end of generation
    }
  }
}

// One corpus of schemas (texts), by name.
struct Corpus {
  std::string name;
  std::vector<std::string> schemas;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A directory of schema files, or a JSON-Schema-Test-Suite checkout.
Corpus LoadCorpus(const std::string& dir) {
  namespace fs = std::filesystem;
  Corpus corpus;
  const fs::path suite = fs::path(dir) / "tests" / "draft2020-12";
  std::vector<fs::path> files;
  for (const auto& e :
       fs::directory_iterator(fs::exists(suite) ? suite : fs::path(dir))) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  corpus.name = fs::exists(suite) ? "JSON-Schema-Test-Suite"
                                  : fs::path(dir).filename().string();
  for (const fs::path& f : files) {
    if (!fs::exists(suite)) {
      corpus.schemas.push_back(ReadFile(f));
      continue;
    }
    for (const auto& group : nlohmann::ordered_json::parse(ReadFile(f))) {
      corpus.schemas.push_back(group["schema"].dump());
    }
  }
  return corpus;
}

// Compile and mask times pooled over a corpus; refused schemas counted.
struct CorpusResult {
  int compiled = 0, refused = 0;
  std::vector<double> compile_us;
  Result masks;
};

CorpusResult RunCorpus(
    const Corpus& corpus,
    const std::shared_ptr<const constraint::TokenVocabulary>& vocab,
    const std::shared_ptr<const constraint::TokenTrie>& trie, int walks) {
  CorpusResult out;
  for (const std::string& schema : corpus.schemas) {
    const auto start = Clock::now();
    absl::StatusOr<constraint::ByteGrammar> grammar =
        constraint::CompileJsonSchema(schema);
    if (!grammar.ok()) {
      ++out.refused;
      continue;
    }
    constraint::CompiledConstraint compiled(*grammar, vocab, trie);
    out.compile_us.push_back(MicrosSince(start));
    ++out.compiled;
    Walk(compiled, *vocab, walks, 256, &out.masks);
  }
  return out;
}

Result Run(const Case& c,
           const std::shared_ptr<const constraint::TokenVocabulary>& vocab,
           const std::shared_ptr<const constraint::TokenTrie>& trie,
           int walks) {
  Result result;
  const auto start = Clock::now();
  absl::StatusOr<constraint::ByteGrammar> grammar;
  if (c.is_choice) {
    std::vector<std::string> choices;
    size_t from = 0;
    while (from <= c.source.size()) {
      size_t bar = c.source.find('|', from);
      if (bar == std::string::npos) bar = c.source.size();
      choices.push_back(c.source.substr(from, bar - from));
      from = bar + 1;
    }
    grammar = constraint::CompileChoice(choices);
  } else {
    grammar = constraint::CompileRegex(c.source);
  }
  if (!grammar.ok()) {
    std::fprintf(stderr, "%s: %s\n", c.name,
                 grammar.status().ToString().c_str());
    std::exit(2);
  }
  constraint::CompiledConstraint compiled(*grammar, vocab, trie);
  result.compile_us = MicrosSince(start);
  Walk(compiled, *vocab, walks, 512, &result);
  return result;
}

}  // namespace
}  // namespace fm::bench

int main(int argc, char** argv) {
  using namespace fm::bench;
  int walks = 20;
  std::vector<std::string> files;
  std::vector<Corpus> corpora;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--walks=")) {
      if (!absl::SimpleAtoi(arg.substr(8), &walks) || walks < 1) return 2;
    } else if (absl::StartsWith(arg, "--schemas=")) {
      for (absl::string_view dir : absl::StrSplit(arg.substr(10), ',')) {
        corpora.push_back(LoadCorpus(std::string(dir)));
      }
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: mask_bench [--walks=N] [--schemas=DIR[,DIR...]] "
                 "TOKENIZER_FILE...\n");
    return 2;
  }
  // As fm-sampler does at start: no schema's compile pays for them.
  const auto formats_start = Clock::now();
  if (!fm::constraint::PrebuildStringFormats().ok()) return 2;
  std::printf(
      "Format grammars built once at start (as fm-sampler does): %.0f "
      "µs\n\n",
      MicrosSince(formats_start));
  std::printf(
      "| vocabulary | constraint | compile µs | masks | mask p50 µs | "
      "p99 µs | max µs | tokens/walk |\n|---|---|---:|---:|---:|---:|"
      "---:|---:|\n");
  for (const std::string& file : files) {
    auto vocab = Load(file);
    const auto trie_start = Clock::now();
    auto trie = std::make_shared<const fm::constraint::TokenTrie>(*vocab);
    std::fprintf(stderr, "%s: %d tokens, trie %zu nodes in %.0f µs\n",
                 file.c_str(), vocab->size(), trie->nodes().size(),
                 MicrosSince(trie_start));
    const std::string name = file.substr(file.find_last_of('/') + 1);
    for (const Case& c : Cases()) {
      Result r = Run(c, vocab, trie, walks);
      std::printf("| %s (%d) | %s | %.0f | %zu | %.1f | %.0f | %.0f | %.1f |\n",
                  name.c_str(), vocab->size(), c.name, r.compile_us,
                  r.mask_us.size(), Percentile(r.mask_us, 0.5),
                  Percentile(r.mask_us, 0.99),
                  *std::max_element(r.mask_us.begin(), r.mask_us.end()),
                  static_cast<double>(r.tokens) / walks);
      std::fflush(stdout);
    }
  }
  if (corpora.empty()) return 0;
  std::printf(
      "\n| vocabulary | schemas | compiled (refused) | compile p50 µs | p99 µs "
      "| max µs | masks | mask p50 µs | p99 µs | max µs |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const std::string& file : files) {
    auto vocab = Load(file);
    auto trie = std::make_shared<const fm::constraint::TokenTrie>(*vocab);
    const std::string name = file.substr(file.find_last_of('/') + 1);
    for (const Corpus& corpus : corpora) {
      // A few walks per schema: the corpus, not the walk, is the sample.
      CorpusResult r = RunCorpus(corpus, vocab, trie, std::min(walks, 3));
      const auto& m = r.masks.mask_us;
      std::printf(
          "| %s (%d) | %s | %d (%d) | %.0f | %.0f | %.0f | %zu | %.1f | %.0f "
          "| %.0f |\n",
          name.c_str(), vocab->size(), corpus.name.c_str(), r.compiled,
          r.refused, Percentile(r.compile_us, 0.5),
          Percentile(r.compile_us, 0.99),
          r.compile_us.empty()
              ? 0
              : *std::max_element(r.compile_us.begin(), r.compile_us.end()),
          m.size(), Percentile(m, 0.5), Percentile(m, 0.99),
          m.empty() ? 0 : *std::max_element(m.begin(), m.end()));
      std::fflush(stdout);
    }
  }
  return 0;
}
