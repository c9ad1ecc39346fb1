// fm-tokenizer: serves a SentencePiece model over gRPC.
// Exits non-zero with a clear message when the model cannot be loaded.
#include <cstdio>

#include "absl/flags/flag.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/tokenizer/sentencepiece_tokenizer.h"
#include "services/tokenizer/tokenizer_service.h"

ABSL_FLAG(std::string, tokenizer_model, "",
          "Path of the SentencePiece .model file (required).");
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
  auto tokenizer = fm::tokenizer::SentencePieceTokenizer::Load(
      path, absl::GetFlag(FLAGS_tokenizer_sha256));
  if (!tokenizer.ok()) {
    FM_LOG(ERROR) << "cannot load tokenizer: " << tokenizer.status();
    return 1;
  }
  const fm::tokenizer::SentencePieceTokenizer& tok = **tokenizer;
  FM_LOG(INFO) << "loaded " << path << ": " << tok.vocab_size()
               << " pieces, " << tok.proto_info().model_type << ", sha256 "
               << tok.sha256();

  fm::tokenizer::TokenizerIdentity identity;
  identity.model_path = tok.path();
  identity.model_sha256 = tok.sha256();
  identity.model_type = tok.proto_info().model_type;
  identity.add_dummy_prefix = tok.proto_info().add_dummy_prefix;
  identity.byte_fallback = tok.proto_info().byte_fallback;
  fm::tokenizer::TokenizerServiceLimits limits;
  limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  limits.max_ids = absl::GetFlag(FLAGS_max_ids);
  limits.max_batch = absl::GetFlag(FLAGS_max_batch);
  fm::tokenizer::TokenizerServiceImpl service(&tok, identity, limits,
                                              absl::GetFlag(FLAGS_threads));

  return fm::ServeUntilSignal("0.0.0.0:50051", &service,
                              fm::v1::TokenizerService::service_full_name());
}
