// fm-tokenizer: serves a tokenizer (SentencePiece .model, Hugging Face
// tokenizer.json or GGUF) over gRPC.
// Exits non-zero with a clear message when the model cannot be loaded.
#include <cstdio>

#include "absl/flags/flag.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/tokenizer/tokenizer_file.h"
#include "services/tokenizer/tokenizer_service.h"

ABSL_FLAG(std::string, tokenizer_model, "",
          "Tokenizer file (required): a SentencePiece .model, a Hugging Face "
          "tokenizer.json or a GGUF file (its vocabulary), told apart by "
          "content.");
ABSL_FLAG(std::string, tokenizer_config, "",
          "The tokenizer_config.json that goes with a tokenizer.json "
          "--tokenizer_model (special tokens, chat template).");
ABSL_FLAG(std::string, tokenizer_sha256, "",
          "Expected sha256 of --tokenizer_model; refuse to start on mismatch.");
ABSL_FLAG(int, threads, 2, "Worker threads for Encode/Decode.");
ABSL_FLAG(int64_t, max_text_bytes, 1 << 20,
          "Largest text Encode accepts, bytes.");
ABSL_FLAG(int64_t, max_ids, 1 << 20, "Largest id list Decode accepts.");
ABSL_FLAG(int64_t, max_batch, 1024, "Largest EncodeBatch/DecodeBatch.");

int main(int argc, char** argv) {
  fm::ServerRunner::BlockShutdownSignals();
  fm::InitService("fm-tokenizer",
                  "fm-tokenizer --tokenizer_model=PATH [--listen=HOST:PORT]",
                  argc, argv);
  const std::string path = absl::GetFlag(FLAGS_tokenizer_model);
  if (path.empty()) {
    FM_LOG(ERROR) << "--tokenizer_model is required";
    return 2;
  }
  auto loaded = fm::tokenizer::LoadTokenizerFile(
      path, absl::GetFlag(FLAGS_tokenizer_sha256),
      absl::GetFlag(FLAGS_tokenizer_config));
  if (!loaded.ok()) {
    FM_LOG(ERROR) << "cannot load tokenizer: " << loaded.status();
    return 1;
  }
  const fm::tokenizer::Tokenizer& tok = *loaded->tokenizer;
  const fm::tokenizer::TokenizerIdentity& identity = loaded->identity;
  FM_LOG(INFO) << "loaded " << path << " (" << identity.format << ", "
               << identity.model_type << "): " << tok.vocab_size()
               << " pieces, sha256 " << identity.model_sha256;

  fm::tokenizer::TokenizerServiceLimits limits;
  limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  limits.max_ids = absl::GetFlag(FLAGS_max_ids);
  limits.max_batch = absl::GetFlag(FLAGS_max_batch);
  fm::tokenizer::TokenizerServiceImpl service(&tok, identity, limits,
                                              absl::GetFlag(FLAGS_threads));

  return fm::ServeUntilSignal("0.0.0.0:50051", &service,
                              fm::v1::TokenizerService::service_full_name());
}
