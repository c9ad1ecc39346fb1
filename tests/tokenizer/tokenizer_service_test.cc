// fm-tokenizer end to end: the real binary on a free loopback port, driven
// over gRPC and through fmctl.
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/channel_factory.h"
#include "common/utf8.h"
#include "fm/v1/tokenizer.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/tiny_tokenizer.h"

namespace fm::testing {
namespace {

using fm::v1::TokenizerService;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(DeadlineAfter(absl::Seconds(10)));
  return ctx;
}

std::unique_ptr<TokenizerService::Stub> Connect(const ServiceProcess& p) {
  auto channel = MakeChannel(p.address());
  REQUIRE(channel.ok());
  return TokenizerService::NewStub(*channel);
}

struct TinyServer {
  TinyServer(std::vector<std::string> extra = {})
      : process("fm-tokenizer", [&] {
          extra.push_back("--tokenizer_model=" + TinyTokenizerModel());
          return extra;
        }()) {
    INFO(process.log());
    REQUIRE(process.WaitForServing());
    stub = Connect(process);
  }
  ServiceProcess process;
  std::unique_ptr<TokenizerService::Stub> stub;
};

TEST_CASE("health is SERVING for the server and the service name",
          "[tokenizer_service]") {
  TinyServer server;
  auto channel = MakeChannel(server.process.address());
  REQUIRE(channel.ok());
  auto health = grpc::health::v1::Health::NewStub(*channel);
  for (const char* name : {"", "fm.v1.TokenizerService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    grpc::health::v1::HealthCheckResponse response;
    auto ctx = Ctx();
    REQUIRE(health->Check(ctx.get(), request, &response).ok());
    CHECK(response.status() == grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_CASE("Encode, Decode, batches, vocabulary and Info over gRPC",
          "[tokenizer_service]") {
  TinyServer server;
  fm::v1::EncodeRequest enc;
  enc.set_text("h\xC3\xA9llo cat");
  enc.set_add_bos(true);
  enc.set_return_pieces(true);
  fm::v1::EncodeResponse ids;
  auto ctx = Ctx();
  REQUIRE(server.stub->Encode(ctx.get(), enc, &ids).ok());
  REQUIRE(ids.ids_size() > 2);
  CHECK(ids.ids(0) == 1);
  CHECK(ids.pieces_size() == ids.ids_size());

  fm::v1::DecodeRequest dec;
  *dec.mutable_ids() = ids.ids();
  fm::v1::DecodeResponse text;
  ctx = Ctx();
  REQUIRE(server.stub->Decode(ctx.get(), dec, &text).ok());
  CHECK(text.text() == "h\xC3\xA9llo cat");

  fm::v1::EncodeBatchRequest eb;
  eb.add_texts("cat");
  eb.add_texts("");
  eb.add_texts("big tree");
  fm::v1::EncodeBatchResponse ebr;
  ctx = Ctx();
  REQUIRE(server.stub->EncodeBatch(ctx.get(), eb, &ebr).ok());
  REQUIRE(ebr.results_size() == 3);
  CHECK(ebr.results(1).ids_size() == 0);

  fm::v1::DecodeBatchRequest db;
  for (const auto& r : ebr.results()) *db.add_items()->mutable_ids() = r.ids();
  fm::v1::DecodeBatchResponse dbr;
  ctx = Ctx();
  REQUIRE(server.stub->DecodeBatch(ctx.get(), db, &dbr).ok());
  REQUIRE(dbr.texts_size() == 3);
  CHECK(dbr.texts(0) == "cat");
  CHECK(dbr.texts(2) == "big tree");

  fm::v1::TokenizerInfo info;
  ctx = Ctx();
  REQUIRE(server.stub->Info(ctx.get(), {}, &info).ok());
  CHECK(info.vocab_size() > 259);
  CHECK(info.special().bos_id() == 1);
  CHECK(info.model_sha256().size() == 64);
  CHECK(info.byte_fallback());

  fm::v1::GetVocabResponse vocab;
  ctx = Ctx();
  REQUIRE(server.stub->GetVocab(ctx.get(), {}, &vocab).ok());
  REQUIRE(vocab.entries_size() == info.vocab_size());
  CHECK(vocab.entries(1).type() == fm::v1::PIECE_TYPE_CONTROL);
  int bytes = 0;
  for (const auto& e : vocab.entries()) {
    if (e.type() == fm::v1::PIECE_TYPE_BYTE) {
      ++bytes;
      CHECK(e.text().size() == 1);
    }
  }
  CHECK(bytes == 256);
}

TEST_CASE("DecodeStream deltas are whole characters and add up to Decode",
          "[tokenizer_service]") {
  TinyServer server;
  const std::string text =
      "emoji \xF0\x9F\x98\x80 and \xE6\x97\xA5\xE6\x9C\xAC h\xC3\xA9llo";
  fm::v1::EncodeRequest enc;
  enc.set_text(text);
  fm::v1::EncodeResponse ids;
  auto ctx = Ctx();
  REQUIRE(server.stub->Encode(ctx.get(), enc, &ids).ok());

  ctx = Ctx();
  auto stream = server.stub->DecodeStream(ctx.get());
  std::string streamed;
  int max_held = 0;
  for (int i = 0; i < ids.ids_size(); ++i) {
    fm::v1::DecodeStreamRequest request;
    request.add_ids(ids.ids(i));
    request.set_flush(i + 1 == ids.ids_size());
    REQUIRE(stream->Write(request));
    fm::v1::DecodeStreamResponse response;
    REQUIRE(stream->Read(&response));
    CHECK(ValidateUtf8(response.text(), "delta").ok());
    streamed += response.text();
    max_held = std::max(max_held, response.held_ids());
  }
  stream->WritesDone();
  CHECK(stream->Finish().ok());
  CHECK(streamed == text);
  CHECK(max_held >= 2);  // the emoji's bytes were held back
}

TEST_CASE("bad input gets a clear status and the service keeps serving",
          "[tokenizer_service]") {
  TinyServer server({"--max_text_bytes=1000", "--max_batch=4",
                     "--max_message_bytes=65536"});
  auto expect = [&](grpc::Status s, grpc::StatusCode code,
                    const std::string& needle) {
    INFO(s.error_message());
    CHECK(s.error_code() == code);
    CHECK_THAT(s.error_message(), Catch::Contains(needle));
  };
  fm::v1::EncodeRequest enc;
  fm::v1::EncodeResponse out;
  enc.set_text("ab\xFF");
  auto ctx = Ctx();
  expect(server.stub->Encode(ctx.get(), enc, &out),
         grpc::StatusCode::INVALID_ARGUMENT, "offset 2");

  enc.set_text(std::string(1001, 'a'));
  ctx = Ctx();
  expect(server.stub->Encode(ctx.get(), enc, &out),
         grpc::StatusCode::INVALID_ARGUMENT, "limit is 1000");

  fm::v1::DecodeRequest dec;
  dec.add_ids(3);
  dec.add_ids(100000);
  fm::v1::DecodeResponse text;
  ctx = Ctx();
  expect(server.stub->Decode(ctx.get(), dec, &text),
         grpc::StatusCode::INVALID_ARGUMENT, "ids[1] = 100000");
  dec.set_ids(1, -7);
  ctx = Ctx();
  expect(server.stub->Decode(ctx.get(), dec, &text),
         grpc::StatusCode::INVALID_ARGUMENT, "-7");

  fm::v1::EncodeBatchRequest eb;
  for (int i = 0; i < 5; ++i) eb.add_texts("x");
  fm::v1::EncodeBatchResponse ebr;
  ctx = Ctx();
  expect(server.stub->EncodeBatch(ctx.get(), eb, &ebr),
         grpc::StatusCode::INVALID_ARGUMENT, "limit is 4");

  // Larger than the gRPC message limit: refused by the transport.
  enc.set_text(std::string(100000, 'a'));
  ctx = Ctx();
  expect(server.stub->Encode(ctx.get(), enc, &out),
         grpc::StatusCode::RESOURCE_EXHAUSTED, "larger than max");

  // A bad id mid-stream ends only that stream.
  ctx = Ctx();
  auto stream = server.stub->DecodeStream(ctx.get());
  fm::v1::DecodeStreamRequest bad;
  bad.add_ids(-1);
  stream->Write(bad);
  fm::v1::DecodeStreamResponse ignored;
  CHECK_FALSE(stream->Read(&ignored));
  expect(stream->Finish(), grpc::StatusCode::INVALID_ARGUMENT, "-1");

  // Still serving.
  enc.set_text("cat");
  ctx = Ctx();
  CHECK(server.stub->Encode(ctx.get(), enc, &out).ok());
}

TEST_CASE("empty text encodes to nothing, or to BOS alone",
          "[tokenizer_service]") {
  TinyServer server;
  fm::v1::EncodeRequest enc;
  fm::v1::EncodeResponse out;
  auto ctx = Ctx();
  REQUIRE(server.stub->Encode(ctx.get(), enc, &out).ok());
  CHECK(out.ids_size() == 0);
  enc.set_add_bos(true);
  ctx = Ctx();
  REQUIRE(server.stub->Encode(ctx.get(), enc, &out).ok());
  REQUIRE(out.ids_size() == 1);
  CHECK(out.ids(0) == 1);
}

TEST_CASE("startup fails clearly on a missing, corrupt or mis-pinned model",
          "[tokenizer_service]") {
  const std::string dir = MakeTempDir();
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::string garbage = dir + "/garbage.model";
  RunCommand({"/bin/sh", "-c", "printf 'not a model' > " + garbage});
  for (const Case& c :
       {Case{{"--tokenizer_model=/nonexistent.model"}, "cannot open"},
        Case{{"--tokenizer_model=" + garbage}, "DATA_LOSS"},
        Case{{"--tokenizer_model=" + TinyTokenizerModel(),
              "--tokenizer_sha256=" + std::string(64, 'a')},
             "sha256 mismatch"},
        Case{{}, "--tokenizer_model is required"}}) {
    ServiceProcess p("fm-tokenizer", c.args);
    const int status = p.WaitExit(10000);
    INFO(p.log());
    REQUIRE(status != -1);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) != 0);
    CHECK_THAT(p.log(), Catch::Contains(c.needle));
  }
}

TEST_CASE("SIGTERM shuts the service down cleanly", "[tokenizer_service]") {
  TinyServer server;
  const int status = server.process.Signal(SIGTERM);
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(server.process.log(), Catch::Contains("server stopped"));
}

TEST_CASE("fmctl tokenize, detokenize and health", "[tokenizer_service]") {
  TinyServer server;
  const std::string flag = "--tokenizer=" + server.process.address();
  CommandResult plain = RunCommand({"fmctl", flag, "tokenize", "cat"});
  CHECK(plain.exit_code == 0);
  CommandResult bos = RunCommand({"fmctl", flag, "tokenize", "--bos", "cat"});
  CHECK(bos.exit_code == 0);
  CHECK(bos.out == "1 " + plain.out);
  CommandResult stdin_text = RunCommand({"fmctl", flag, "tokenize", "-"}, "cat");
  CHECK(stdin_text.out == plain.out);

  std::vector<std::string> argv = {"fmctl", flag, "detokenize"};
  for (absl::string_view id : absl::StrSplit(
           absl::StripAsciiWhitespace(plain.out), ' ')) {
    argv.emplace_back(id);
  }
  CommandResult back = RunCommand(argv);
  CHECK(back.exit_code == 0);
  CHECK(back.out == "cat\n");

  CommandResult bad = RunCommand({"fmctl", flag, "detokenize", "999999"});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("INVALID_ARGUMENT"));

  CHECK(RunCommand({"fmctl", "health", "--target=" + server.process.address()})
            .exit_code == 0);
  CHECK(RunCommand({"fmctl", "health", "--target=127.0.0.1:1",
                    "--timeout=2s"})
            .exit_code != 0);
}

TEST_CASE("fmctl against the Llama 2 tokenizer prints the known ids",
          "[tokenizer_service][models]") {
  const std::string model = ModelFile("llama2-tokenizer.model");
  FM_REQUIRE_FILE_OR_SKIP(model, "llama2-tokenizer.model");
  ServiceProcess p("fm-tokenizer", {"--tokenizer_model=" + model});
  REQUIRE(p.WaitForServing());
  const std::string flag = "--tokenizer=" + p.address();
  CommandResult r = RunCommand({"fmctl", flag, "tokenize", "Once upon a time"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "9038 2501 263 931\n");
  r = RunCommand({"fmctl", flag, "tokenize", "--bos", "Once upon a time"});
  CHECK(r.out == "1 9038 2501 263 931\n");
}

}  // namespace
}  // namespace fm::testing
