// TokenizerServiceImpl: validation against the limits, proto <-> domain
// conversion, and the DecodeStream reactor.
#include "services/tokenizer/tokenizer_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/utf8.h"
#include "common/unary_call.h"
#include "common/text/incremental_decoder.h"

namespace fm::tokenizer {
namespace {

fm::v1::PieceType ToProto(text::PieceType type) {
  switch (type) {
    case text::PieceType::kNormal: return fm::v1::PIECE_TYPE_NORMAL;
    case text::PieceType::kUnknown: return fm::v1::PIECE_TYPE_UNKNOWN;
    case text::PieceType::kControl: return fm::v1::PIECE_TYPE_CONTROL;
    case text::PieceType::kUserDefined: return fm::v1::PIECE_TYPE_USER_DEFINED;
    case text::PieceType::kByte: return fm::v1::PIECE_TYPE_BYTE;
    case text::PieceType::kUnused: return fm::v1::PIECE_TYPE_UNUSED;
  }
  return fm::v1::PIECE_TYPE_UNSPECIFIED;
}

void ToProto(const text::SpecialIds& ids, fm::v1::SpecialIds* out) {
  out->set_bos_id(ids.bos);
  out->set_eos_id(ids.eos);
  out->set_unk_id(ids.unk);
  out->set_pad_id(ids.pad);
  out->mutable_end_of_generation_ids()->Add(ids.end_of_generation.begin(),
                                            ids.end_of_generation.end());
}

absl::Status CheckLimit(absl::string_view field, int64_t value,
                        int64_t limit, absl::string_view unit) {
  if (value <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, " has ", value, " ", unit, "; the limit is ", limit,
      " (--", unit == "bytes" ? "max_text_bytes" : "max_ids", ")"));
}

absl::Status CheckBatch(int64_t size, int64_t limit) {
  if (size <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "batch has ", size, " items; the limit is ", limit, " (--max_batch)"));
}

}  // namespace

TokenizerServiceImpl::TokenizerServiceImpl(const Tokenizer* tokenizer,
                                           const ChatTemplate* chat,
                                           TokenizerIdentity identity,
                                           TokenizerServiceLimits limits,
                                           int threads)
    : tokenizer_(tokenizer),
      chat_(chat),
      identity_(std::move(identity)),
      limits_(limits),
      executor_(threads) {}

absl::Status TokenizerServiceImpl::DoEncode(absl::string_view text,
                                            const EncodeOptions& options,
                                            bool return_pieces,
                                            fm::v1::EncodeResponse* out) const {
  absl::Status within =
      CheckLimit("text", static_cast<int64_t>(text.size()),
                 limits_.max_text_bytes, "bytes");
  if (!within.ok()) return within;
  auto ids = tokenizer_->Encode(text, options);
  if (!ids.ok()) return ids.status();
  out->mutable_ids()->Add(ids->begin(), ids->end());
  if (return_pieces) {
    for (TokenId id : *ids) out->add_pieces(tokenizer_->entry(id).piece);
  }
  return absl::OkStatus();
}

absl::Status TokenizerServiceImpl::DoDecode(
    const fm::v1::DecodeRequest& request, std::string* text) const {
  absl::Status within = CheckLimit("ids", request.ids_size(), limits_.max_ids,
                                   "ids");
  if (!within.ok()) return within;
  auto decoded = tokenizer_->Decode(request.ids());
  if (!decoded.ok()) return decoded.status();
  *text = *std::move(decoded);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::Encode(
    grpc::CallbackServerContext* ctx, const fm::v1::EncodeRequest* request,
    fm::v1::EncodeResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    EncodeOptions options(request->add_bos(), request->add_eos(),
                          request->parse_special());
    options.continuation = request->continuation();
    return DoEncode(request->text(), options, request->return_pieces(),
                    response);
  });
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::Decode(
    grpc::CallbackServerContext* ctx, const fm::v1::DecodeRequest* request,
    fm::v1::DecodeResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    return DoDecode(*request, response->mutable_text());
  });
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::EncodeBatch(
    grpc::CallbackServerContext* ctx,
    const fm::v1::EncodeBatchRequest* request,
    fm::v1::EncodeBatchResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    absl::Status batch = CheckBatch(request->texts_size(), limits_.max_batch);
    if (!batch.ok()) return batch;
    for (int i = 0; i < request->texts_size(); ++i) {
      absl::Status encoded =
          DoEncode(request->texts(i),
                   {request->add_bos(), request->add_eos(),
                    request->parse_special()},
                   request->return_pieces(), response->add_results());
      if (!encoded.ok()) return Annotate(encoded, absl::StrCat("texts[", i, "]"));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::DecodeBatch(
    grpc::CallbackServerContext* ctx,
    const fm::v1::DecodeBatchRequest* request,
    fm::v1::DecodeBatchResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    absl::Status batch = CheckBatch(request->items_size(), limits_.max_batch);
    if (!batch.ok()) return batch;
    for (int i = 0; i < request->items_size(); ++i) {
      absl::Status decoded = DoDecode(request->items(i), response->add_texts());
      if (!decoded.ok()) return Annotate(decoded, absl::StrCat("items[", i, "]"));
    }
    return absl::OkStatus();
  });
}

absl::Status TokenizerServiceImpl::DoGetVocab(
    const fm::v1::GetVocabRequest& request,
    fm::v1::GetVocabResponse* response) const {
  const int32_t n = tokenizer_->vocab_size();
  if (request.offset() < 0 || request.offset() > n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offset ", request.offset(), " is outside [0, ", n, "] (vocabulary size)"));
  }
  if (request.limit() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit ", request.limit(), " is negative"));
  }
  const int32_t end =
      request.limit() == 0 ? n : std::min<int64_t>(n, int64_t{request.offset()} + request.limit());
  int64_t bytes = 0;
  TokenId id = request.offset();
  for (; id < end; ++id) {
    const text::VocabEntry& e = tokenizer_->entry(id);
    // Each entry costs its strings and about 16 bytes of framing.
    const int64_t cost = static_cast<int64_t>(e.piece.size() + e.text.size()) + 16;
    if (bytes + cost > limits_.vocab_page_bytes && id > request.offset()) break;
    bytes += cost;
    fm::v1::VocabEntry* out = response->add_entries();
    out->set_piece(e.piece);
    out->set_score(e.score);
    out->set_type(ToProto(e.type));
    out->set_text(e.text);
  }
  response->set_offset(request.offset());
  response->set_vocab_size(n);
  response->set_next_offset(id);
  ToProto(tokenizer_->special_ids(), response->mutable_special());
  response->mutable_decode_rules()->set_add_dummy_prefix(identity_.add_dummy_prefix);
  response->mutable_decode_rules()->set_remove_extra_whitespaces(
      identity_.remove_extra_whitespaces);
  response->mutable_decode_rules()->set_byte_level(identity_.byte_level);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::GetVocab(
    grpc::CallbackServerContext* ctx, const fm::v1::GetVocabRequest* request,
    fm::v1::GetVocabResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    return DoGetVocab(*request, response);
  });
}

absl::Status TokenizerServiceImpl::DoRenderChat(
    const fm::v1::RenderChatRequest& request,
    fm::v1::RenderChatResponse* response) const {
  if (chat_ == nullptr) {
    return absl::FailedPreconditionError(
        "the tokenizer has no chat template (none in its file, or "
        "--ignore_chat_template); give one with --chat_template_file");
  }
  if (request.messages_size() == 0) {
    return absl::InvalidArgumentError("messages is empty");
  }
  if (request.messages_size() > limits_.max_chat_messages) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages has ", request.messages_size(), " messages; the limit is ",
        limits_.max_chat_messages, " (--max_chat_messages)"));
  }
  ChatRequest chat;
  int64_t bytes = 0;
  for (int i = 0; i < request.messages_size(); ++i) {
    const fm::v1::ChatMessage& m = request.messages(i);
    const std::string at = absl::StrCat("messages[", i, "]");
    if (m.role().empty() || m.role().size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ".role has ", m.role().size(), " bytes; it must have 1..64"));
    }
    FM_RETURN_IF_ERROR(ValidateUtf8(m.role(), at + ".role"));
    FM_RETURN_IF_ERROR(ValidateUtf8(m.content(), at + ".content"));
    bytes += static_cast<int64_t>(m.content().size() + m.fields_json().size());
    chat.messages.push_back({m.role(), m.content(), m.fields_json()});
  }
  bytes += static_cast<int64_t>(request.tools_json().size() + request.variables_json().size());
  FM_RETURN_IF_ERROR(CheckLimit("the conversation", bytes, limits_.max_text_bytes, "bytes"));
  chat.add_generation_prompt =
      !request.has_add_generation_prompt() || request.add_generation_prompt();
  chat.tools_json = request.tools_json();
  chat.variables_json = request.variables_json();
  FM_ASSIGN_OR_RETURN(RenderedChat rendered, chat_->Render(chat));
  if (request.return_ids()) {
    // The template's special tokens become ids; those a message's content
    // carried stay text.
    EncodeOptions options;
    options.parse_special = true;
    options.literal_ranges = std::move(rendered.literal_ranges);
    FM_ASSIGN_OR_RETURN(std::vector<TokenId> ids, tokenizer_->Encode(rendered.text, options));
    response->mutable_ids()->Add(ids.begin(), ids.end());
  }
  response->set_text(std::move(rendered.text));
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::RenderChat(
    grpc::CallbackServerContext* ctx, const fm::v1::RenderChatRequest* request,
    fm::v1::RenderChatResponse* response) {
  return RunUnaryOnExecutor(ctx, executor_, [this, request, response] {
    return DoRenderChat(*request, response);
  });
}

grpc::ServerUnaryReactor* TokenizerServiceImpl::Info(
    grpc::CallbackServerContext* ctx,
    const fm::v1::TokenizerInfoRequest* request,
    fm::v1::TokenizerInfo* response) {
  // Cheap and allocation-light: answered inline.
  response->set_vocab_size(tokenizer_->vocab_size());
  ToProto(tokenizer_->special_ids(), response->mutable_special());
  response->set_model_sha256(identity_.model_sha256);
  response->set_model_path(identity_.model_path);
  response->set_model_type(identity_.model_type);
  response->set_format(identity_.format);
  response->set_pre_tokenizer(identity_.pre_tokenizer);
  response->set_add_dummy_prefix(identity_.add_dummy_prefix);
  response->set_byte_fallback(identity_.byte_fallback);
  response->set_byte_level(identity_.byte_level);
  response->set_add_bos(identity_.add_bos);
  response->set_add_eos(identity_.add_eos);
  response->set_has_chat_template(!identity_.chat_template.empty());
  response->set_config_path(identity_.config_path);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// One incremental decoding stream: read ids -> compute the delta on the
// executor -> write it -> read again. Exactly one operation is outstanding
// at a time, so the decoder needs no lock.
class TokenizerServiceImpl::DecodeStreamReactor final
    : public grpc::ServerBidiReactor<fm::v1::DecodeStreamRequest,
                                     fm::v1::DecodeStreamResponse> {
 public:
  DecodeStreamReactor(TokenizerServiceImpl* service)
      : service_(service), decoder_(service->tokenizer_) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // client half-closed (or the call broke)
      Finish(grpc::Status::OK);
      return;
    }
    const bool queued = service_->executor_.Submit([this] { Step(); });
    if (!queued) {
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "server busy: work queue is full"));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  void Step() {
    absl::Status status = Decode();
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    StartWrite(&response_);
  }

  absl::Status Decode() {
    response_.Clear();
    const int64_t total =
        static_cast<int64_t>(decoder_.ids().size()) + request_.ids_size();
    if (total > service_->limits_.max_ids) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stream has ", total, " ids; the limit is ",
          service_->limits_.max_ids, " (--max_ids)"));
    }
    auto delta = decoder_.Add(request_.ids());
    if (!delta.ok()) return delta.status();
    std::string text = *std::move(delta);
    if (request_.flush()) {
      auto rest = decoder_.Flush();
      if (!rest.ok()) return rest.status();
      text += *rest;
    }
    response_.set_text(std::move(text));
    response_.set_held_ids(decoder_.held_ids());
    return absl::OkStatus();
  }

  TokenizerServiceImpl* service_;
  text::IncrementalDecoder decoder_;
  fm::v1::DecodeStreamRequest request_;
  fm::v1::DecodeStreamResponse response_;
};

grpc::ServerBidiReactor<fm::v1::DecodeStreamRequest,
                        fm::v1::DecodeStreamResponse>*
TokenizerServiceImpl::DecodeStream(grpc::CallbackServerContext* ctx) {
  return new DecodeStreamReactor(this);
}

}  // namespace fm::tokenizer
