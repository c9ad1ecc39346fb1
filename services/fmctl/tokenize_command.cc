// `fmctl tokenize`, `fmctl detokenize` and the tokenizer's `fmctl info`:
// thin clients of fm-tokenizer.
#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fm/v1/tokenizer.grpc.pb.h"
#include "services/fmctl/conversation_json.h"
#include "services/fmctl/fmctl.h"

ABSL_DECLARE_FLAG(std::string, tokenizer);
ABSL_DECLARE_FLAG(bool, bos);
ABSL_DECLARE_FLAG(bool, eos);
ABSL_DECLARE_FLAG(bool, no_generation_prompt);

namespace fm::fmctl {

int RunTokenizerInfo() {
  auto channel = ChannelFor("tokenizer", absl::GetFlag(FLAGS_tokenizer),
                            "FM_TOKENIZER");
  if (!channel.ok()) return Fail("info", channel.status());
  auto stub = fm::v1::TokenizerService::NewStub(*channel);
  return PrintInfo<fm::v1::TokenizerService::Stub, fm::v1::TokenizerInfo>(
      *stub, NewContext(), "tokenizer");
}

int RunTokenize(const Args& args) {
  if (args.size() != 1) return Usage("tokenize");
  auto channel = ChannelFor("tokenizer", absl::GetFlag(FLAGS_tokenizer),
                            "FM_TOKENIZER");
  if (!channel.ok()) return Fail("tokenize", channel.status());
  auto stub = fm::v1::TokenizerService::NewStub(*channel);
  fm::v1::EncodeRequest request;
  request.set_text(TextArg(args[0]));
  request.set_add_bos(absl::GetFlag(FLAGS_bos));
  request.set_add_eos(absl::GetFlag(FLAGS_eos));
  fm::v1::EncodeResponse response;
  auto ctx = NewContext();
  grpc::Status status = stub->Encode(ctx.get(), request, &response);
  if (!status.ok()) return Fail("tokenizer", status);
  std::printf("%s\n", absl::StrJoin(response.ids(), " ").c_str());
  return 0;
}

int RunDetokenize(const Args& args) {
  if (args.empty()) return Usage("detokenize");
  fm::v1::DecodeRequest request;
  for (const std::string& arg : args) {
    // Accept "1 2 3" as one argument as well as separate arguments.
    for (absl::string_view part : absl::StrSplit(arg, ' ', absl::SkipEmpty())) {
      int32_t id;
      if (!absl::SimpleAtoi(part, &id)) {
        std::fprintf(stderr, "fmctl: '%s' is not a token id\n",
                     std::string(part).c_str());
        return 2;
      }
      request.add_ids(id);
    }
  }
  auto channel = ChannelFor("tokenizer", absl::GetFlag(FLAGS_tokenizer),
                            "FM_TOKENIZER");
  if (!channel.ok()) return Fail("detokenize", channel.status());
  auto stub = fm::v1::TokenizerService::NewStub(*channel);
  fm::v1::DecodeResponse response;
  auto ctx = NewContext();
  grpc::Status status = stub->Decode(ctx.get(), request, &response);
  if (!status.ok()) return Fail("tokenizer", status);
  std::fwrite(response.text().data(), 1, response.text().size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

int RunRenderChat(const Args& args) {
  if (args.size() != 1) return Usage("render-chat");
  auto request = ConversationFromJson(TextArg(args[0]));
  if (!request.ok()) return Fail("render-chat", request.status());
  request->set_add_generation_prompt(!absl::GetFlag(FLAGS_no_generation_prompt));
  auto channel = ChannelFor("tokenizer", absl::GetFlag(FLAGS_tokenizer),
                            "FM_TOKENIZER");
  if (!channel.ok()) return Fail("render-chat", channel.status());
  auto stub = fm::v1::TokenizerService::NewStub(*channel);
  fm::v1::RenderChatResponse response;
  auto ctx = NewContext();
  grpc::Status status = stub->RenderChat(ctx.get(), *request, &response);
  if (!status.ok()) return Fail("tokenizer", status);
  // Exactly the rendered text: no newline added.
  std::fwrite(response.text().data(), 1, response.text().size(), stdout);
  return 0;
}

}  // namespace fm::fmctl
