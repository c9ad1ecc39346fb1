// Loads SentencePiece so that its bundled protobuf never meets gRPC's.
//
// Debian 12's libsentencepiece.so.0 is built with its own protobuf-lite 3.14
// and exports those symbols. Linked normally into a process that also uses
// libprotobuf 3.21 (gRPC), one copy's code binds to the other's symbols:
// either libprotobuf's start-up crashes inside SentencePiece's copy, or
// SentencePiece's version check aborts against 3.21. So no fmserve binary
// links SentencePiece. Instead we dlopen it with RTLD_DEEPBIND (its own
// symbols first, for its own references), then the small shim module that
// wraps it, and talk to the shim through the std-only SpBackend interface.
#include "services/tokenizer/sentencepiece_adapter.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace fm::tokenizer {
namespace {

using CreateFn = SpBackend* (*)();

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::vector<std::string> ShimCandidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("FM_SPSHIM")) paths.push_back(env);
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    const std::string dir = Dirname(exe);
    paths.push_back(dir + "/" FM_SP_SHIM_FILE);
    paths.push_back(dir + "/../bin/" FM_SP_SHIM_FILE);
    paths.push_back(dir + "/../lib/fmserve/" FM_SP_SHIM_FILE);
  }
  if (const char* bin = std::getenv("FM_BIN_DIR")) {
    paths.push_back(std::string(bin) + "/" FM_SP_SHIM_FILE);
  }
#ifdef FM_SPSHIM_BUILD_PATH
  paths.push_back(FM_SPSHIM_BUILD_PATH);
#endif
  return paths;
}

struct Loaded {
  CreateFn create = nullptr;
  std::string error;
};

Loaded LoadOnce() {
  Loaded loaded;
  void* sp = ::dlopen("libsentencepiece.so.0",
                      RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (sp == nullptr) {
    loaded.error = std::string("cannot load libsentencepiece.so.0: ") +
                   ::dlerror();
    return loaded;
  }
  std::string tried;
  for (const std::string& path : ShimCandidates()) {
    if (::access(path.c_str(), R_OK) != 0) {
      tried += " " + path;
      continue;
    }
    void* shim = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (shim == nullptr) {
      loaded.error = std::string("cannot load ") + path + ": " + ::dlerror();
      return loaded;
    }
    loaded.create = reinterpret_cast<CreateFn>(
        ::dlsym(shim, FM_SP_BACKEND_CREATE_SYMBOL));
    if (loaded.create == nullptr) {
      loaded.error = path + " has no " FM_SP_BACKEND_CREATE_SYMBOL;
    }
    return loaded;
  }
  loaded.error = "cannot find " FM_SP_SHIM_FILE " (set FM_SPSHIM); tried:" +
                 tried;
  return loaded;
}

}  // namespace

std::unique_ptr<SpBackend> LoadSentencePieceBackend(std::string* error) {
  static const Loaded* loaded = new Loaded(LoadOnce());
  if (loaded->create == nullptr) {
    if (error != nullptr) *error = loaded->error;
    return nullptr;
  }
  return std::unique_ptr<SpBackend>(loaded->create());
}

}  // namespace fm::tokenizer
