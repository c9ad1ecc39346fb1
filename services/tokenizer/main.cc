// fm-tokenizer: serves a tokenizer (SentencePiece .model, Hugging Face
// tokenizer.json or GGUF) over gRPC.
// Exits non-zero with a clear message when the model cannot be loaded.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/flags/flag.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/tokenizer/chat_template.h"
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
ABSL_FLAG(std::string, chat_template_file, "",
          "A Jinja2 chat template to serve instead of the one the tokenizer "
          "file carries.");
ABSL_FLAG(bool, ignore_chat_template, false,
          "Serve without a chat template (RenderChat answers "
          "FAILED_PRECONDITION), e.g. when the file's template uses what "
          "fmserve does not implement.");
ABSL_FLAG(int64_t, max_chat_messages, 4096, "Most messages RenderChat accepts.");
ABSL_FLAG(int64_t, vocab_page_bytes, 2 << 20,
          "Largest GetVocab response, bytes (larger vocabularies are paged).");
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

  // The chat template is parsed now: one the interpreter cannot run stops
  // start-up naming the construct and its line.
  std::string chat_source = identity.chat_template;
  if (const std::string file = absl::GetFlag(FLAGS_chat_template_file); !file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      FM_LOG(ERROR) << "cannot read --chat_template_file " << file;
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    chat_source = text.str();
  }
  std::unique_ptr<fm::tokenizer::ChatTemplate> chat;
  if (!chat_source.empty() && !absl::GetFlag(FLAGS_ignore_chat_template)) {
    auto parsed = fm::tokenizer::ChatTemplate::Create(chat_source, tok);
    if (!parsed.ok()) {
      FM_LOG(ERROR) << "cannot use the chat template: " << parsed.status()
                    << " (--ignore_chat_template serves without it)";
      return 1;
    }
    chat = *std::move(parsed);
  }
  FM_LOG(INFO) << "chat template: " << (chat != nullptr ? "yes" : "none");
  fm::tokenizer::TokenizerIdentity served = identity;
  served.chat_template = chat != nullptr ? chat_source : "";

  fm::tokenizer::TokenizerServiceLimits limits;
  limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  limits.max_ids = absl::GetFlag(FLAGS_max_ids);
  limits.max_batch = absl::GetFlag(FLAGS_max_batch);
  limits.max_chat_messages = absl::GetFlag(FLAGS_max_chat_messages);
  limits.vocab_page_bytes = absl::GetFlag(FLAGS_vocab_page_bytes);
  if (limits.vocab_page_bytes < 4096 || limits.vocab_page_bytes > (64 << 20)) {
    FM_LOG(ERROR) << "--vocab_page_bytes=" << limits.vocab_page_bytes
                  << " is outside [4096, 67108864]";
    return 2;
  }
  fm::tokenizer::TokenizerServiceImpl service(&tok, chat.get(), served, limits,
                                              absl::GetFlag(FLAGS_threads));

  return fm::ServeUntilSignal("0.0.0.0:50051", &service,
                              fm::v1::TokenizerService::service_full_name());
}
