// LoadTokenizerFile: one --tokenizer_model flag for every tokenizer file,
// the format detected by content, never by name: a GGUF file (its
// tokenizer.ggml.* vocabulary; tensors ignored, so fm-model can serve the
// same file), a Hugging Face tokenizer.json, or a SentencePiece .model.
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_FILE_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/tokenizer/tokenizer.h"
#include "services/tokenizer/tokenizer_identity.h"

namespace fm::tokenizer {

struct LoadedTokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
  TokenizerIdentity identity;
};

// Loads `path`; when `expected_sha256` is non-empty the file must hash to
// it (FAILED_PRECONDITION) before any parser sees it. NOT_FOUND for a
// missing file; DATA_LOSS or INVALID_ARGUMENT (naming the field) for a
// corrupt one; INVALID_ARGUMENT naming what is not supported (a GGUF
// tokenizer model other than "llama" or "gpt2", a tokenizer.json model,
// normalizer, pre-tokenizer or decoder fmserve does not implement).
// `config_path`: a tokenizer_config.json for a tokenizer.json (special
// tokens, add_bos, the chat template); "" for none.
absl::StatusOr<LoadedTokenizer> LoadTokenizerFile(
    const std::string& path, absl::string_view expected_sha256 = "",
    const std::string& config_path = "");

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_FILE_H_
