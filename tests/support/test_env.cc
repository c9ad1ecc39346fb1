// Test environment lookups: FM_MODELS, FM_BIN_DIR, temporary directories.
#include "tests/support/test_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

// Set by tests/CMakeLists.txt; programs that compile this file on their
// own (the benchmarks) fall back to the working directory.
#ifndef FM_SOURCE_DIR_DEFAULT
#define FM_SOURCE_DIR_DEFAULT "."
#endif

namespace fm::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

void RemoveTempDirs() {
  for (const auto& dir : TempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

}  // namespace

std::string ModelsDir() {
  const char* dir = std::getenv("FM_MODELS");
  if (dir == nullptr || *dir == '\0' || !Exists(dir)) return "";
  return dir;
}

std::string ModelFile(const std::string& name) {
  const std::string dir = ModelsDir();
  if (dir.empty()) return "";
  const std::string path = dir + "/" + name;
  return Exists(path) ? path : "";
}

std::string BinDir() {
  const char* dir = std::getenv("FM_BIN_DIR");
  return dir != nullptr ? dir : "build/bin";
}

std::string SourceDir() {
  const char* dir = std::getenv("FM_SOURCE_DIR");
  return dir != nullptr ? dir : FM_SOURCE_DIR_DEFAULT;
}

std::string InstalledNodePackages(const std::string& name, std::string* why) {
  const std::string dir = BinDir() + "/../" + name;
  std::ifstream unavailable(dir + "/UNAVAILABLE");
  if (unavailable) {
    std::getline(unavailable, *why);
    return "";
  }
  if (!std::ifstream(dir + "/node_modules/.fm-lock")) {
    *why = dir + " has nothing installed (run scripts/oracle_setup.sh " + dir +
           " SOURCE_DIR)";
    return "";
  }
  return dir;
}

std::string MakeTempDir() {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(RemoveTempDirs); });
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr ? base : "/tmp") + "/fmtest.XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return "";
  TempDirs().emplace_back(buf.data());
  return buf.data();
}

void ReportSkip(const std::string& why) {
  std::printf("FM_SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
}

}  // namespace fm::testing
