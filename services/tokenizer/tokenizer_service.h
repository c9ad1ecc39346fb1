// TokenizerServiceImpl: fm.v1.TokenizerService over a Tokenizer. Protos are
// converted to domain calls here and nowhere else.
#ifndef FM_SERVICES_TOKENIZER_TOKENIZER_SERVICE_H_
#define FM_SERVICES_TOKENIZER_TOKENIZER_SERVICE_H_

#include <cstdint>
#include <string>

#include "common/executor.h"
#include "fm/v1/tokenizer.grpc.pb.h"
#include "services/tokenizer/chat_template.h"
#include "services/tokenizer/tokenizer.h"
#include "services/tokenizer/tokenizer_identity.h"

namespace fm::tokenizer {

struct TokenizerServiceLimits {
  // Largest text accepted by Encode, bytes.
  int64_t max_text_bytes = 1 << 20;
  // Largest id list accepted by Decode.
  int64_t max_ids = 1 << 20;
  // Largest batch for EncodeBatch / DecodeBatch.
  int64_t max_batch = 1024;
  // Most messages RenderChat accepts.
  int64_t max_chat_messages = 4096;
  // Largest GetVocab page, bytes (under gRPC's 4 MiB message default).
  int64_t vocab_page_bytes = 2 << 20;
};

class TokenizerServiceImpl final
    : public fm::v1::TokenizerService::CallbackService {
 public:
  // `tokenizer` (and `chat`, null when the tokenizer has no chat
  // template) must outlive the service. Work runs on `threads` workers.
  TokenizerServiceImpl(const Tokenizer* tokenizer, const ChatTemplate* chat,
                       TokenizerIdentity identity, TokenizerServiceLimits limits,
                       int threads);

  grpc::ServerUnaryReactor* Encode(grpc::CallbackServerContext* ctx,
                                   const fm::v1::EncodeRequest* request,
                                   fm::v1::EncodeResponse* response) override;
  grpc::ServerUnaryReactor* Decode(grpc::CallbackServerContext* ctx,
                                   const fm::v1::DecodeRequest* request,
                                   fm::v1::DecodeResponse* response) override;
  grpc::ServerUnaryReactor* EncodeBatch(
      grpc::CallbackServerContext* ctx,
      const fm::v1::EncodeBatchRequest* request,
      fm::v1::EncodeBatchResponse* response) override;
  grpc::ServerUnaryReactor* DecodeBatch(
      grpc::CallbackServerContext* ctx,
      const fm::v1::DecodeBatchRequest* request,
      fm::v1::DecodeBatchResponse* response) override;
  grpc::ServerBidiReactor<fm::v1::DecodeStreamRequest,
                          fm::v1::DecodeStreamResponse>*
  DecodeStream(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* GetVocab(grpc::CallbackServerContext* ctx,
                                     const fm::v1::GetVocabRequest* request,
                                     fm::v1::GetVocabResponse* response) override;
  grpc::ServerUnaryReactor* RenderChat(
      grpc::CallbackServerContext* ctx, const fm::v1::RenderChatRequest* request,
      fm::v1::RenderChatResponse* response) override;
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx,
                                 const fm::v1::TokenizerInfoRequest* request,
                                 fm::v1::TokenizerInfo* response) override;

 private:
  class DecodeStreamReactor;

  absl::Status DoEncode(absl::string_view text, const EncodeOptions& options,
                        bool return_pieces, fm::v1::EncodeResponse* out) const;
  absl::Status DoDecode(const fm::v1::DecodeRequest& request,
                        std::string* text) const;
  absl::Status DoGetVocab(const fm::v1::GetVocabRequest& request,
                          fm::v1::GetVocabResponse* response) const;
  absl::Status DoRenderChat(const fm::v1::RenderChatRequest& request,
                            fm::v1::RenderChatResponse* response) const;

  const Tokenizer* tokenizer_;
  const ChatTemplate* chat_;
  const TokenizerIdentity identity_;
  const TokenizerServiceLimits limits_;
  Executor executor_;
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_TOKENIZER_SERVICE_H_
