// LoadSentencePieceBackend: loads libsentencepiece in isolation and returns
// a backend (see sentencepiece_backend.h for why it is isolated).
#ifndef FM_SERVICES_TOKENIZER_SENTENCEPIECE_ADAPTER_H_
#define FM_SERVICES_TOKENIZER_SENTENCEPIECE_ADAPTER_H_

#include <memory>
#include <string>

#include "services/tokenizer/sentencepiece_backend.h"

namespace fm::tokenizer {

// A new backend, or nullptr with `error` set when the module or the library
// cannot be loaded. The module is searched in $FM_SPSHIM (a file path), next
// to the running executable, in $FM_BIN_DIR, then in the build tree.
// Thread-safe; the libraries are loaded once per process.
std::unique_ptr<SpBackend> LoadSentencePieceBackend(std::string* error);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_SENTENCEPIECE_ADAPTER_H_
