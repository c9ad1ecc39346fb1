// spm_train on a few hundred lines of made-up ASCII stories.
#include "tests/tokenizer/tiny_tokenizer.h"

#include <fstream>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

// `extra` flags go to spm_train after the common ones.
std::string Train(const std::vector<std::string>& extra) {
  const std::string dir = MakeTempDir();
  const std::string corpus = dir + "/corpus.txt";
  {
    std::ofstream out(corpus);
    const char* names[] = {"Lily", "Tom", "Sue", "Ben", "Max", "Anna"};
    const char* things[] = {"ball", "cat", "tree", "park", "cake", "boat"};
    const char* verbs[] = {"saw", "liked", "found", "wanted", "made", "lost"};
    for (int i = 0; i < 300; ++i) {
      out << "Once upon a time, " << names[i % 6] << " " << verbs[(i / 6) % 6]
          << " a big " << things[(i / 36) % 6] << " in the morning. "
          << "It was " << (i % 7) << " o'clock and the sun was bright!\n";
    }
  }
  std::vector<std::string> argv = {
      "/usr/bin/spm_train", "--input=" + corpus,
      "--model_prefix=" + dir + "/tiny", "--vocab_size=320",
      "--model_type=bpe", "--byte_fallback=true",
      "--character_coverage=1.0", "--hard_vocab_limit=false",
      "--num_threads=1", "--minloglevel=2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CommandResult r = RunCommand(argv, "", 60000);
  if (r.exit_code != 0) return "";
  return dir + "/tiny.model";
}

}  // namespace

std::string TinyTokenizerModel() {
  static const std::string* path = new std::string(Train({}));
  return *path;
}

std::string TinyIdentityTokenizerModel() {
  static const std::string* path = new std::string(Train(
      {"--normalization_rule_name=identity",
       "--remove_extra_whitespaces=false"}));
  return *path;
}

}  // namespace fm::testing
