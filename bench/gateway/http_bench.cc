// http_bench: the OpenAI-compatible HTTP endpoint (POST /v1/completions,
// streamed as server-sent events) next to the same request through gRPC
// Generate, on one gateway, in alternating pairs: time to first token and
// tokens/s as each client sees them, on random-weight checkpoints of the
// stories15M and stories110M shapes (greedy, ignore_eos, no cache). Then
// the cost of the one /proc/self/fd scan each HTTP request makes
// (ConnectionProbe) at 100 and 1,000 open descriptors. Needs FM_MODELS (the
// Llama 2 tokenizer) and the built binaries (FM_BIN_DIR, default build/bin).
// Prints Markdown tables; --quick for a short run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/gateway/bench_stack.h"
#include "bench/median.h"
#include "services/gateway/openai/connection_probe.h"
#include "tests/support/test_env.h"

namespace {

using fm::bench::StreamResult;

constexpr char kModelName[] = "bench";

fm::v1::GenerateRequest GrpcRequest(int tokens) {
  fm::v1::GenerateRequest r;
  r.set_text("Once upon a time");
  r.set_max_tokens(tokens);
  r.set_ignore_eos(true);
  r.set_no_cache(true);
  // What the HTTP layer maps `"temperature": 0` to: OpenAI's defaults for
  // the other shorthand fields, so that both run the same chain.
  r.mutable_shorthand()->set_temperature(0);
  r.mutable_shorthand()->set_top_p(1);
  r.mutable_shorthand()->set_top_k(0);
  r.mutable_shorthand()->set_min_p(0);
  return r;
}

// The same request as GrpcRequest, as an OpenAI client streams it.
StreamResult HttpStream(httplib::Client& client, int tokens) {
  const nlohmann::json body = {
      {"model", kModelName},  {"prompt", "Once upon a time"},
      {"max_tokens", tokens}, {"temperature", 0},
      {"stream", true},       {"stream_options", {{"include_usage", true}}},
      {"ignore_eos", true},   {"no_cache", true}};
  StreamResult result;
  std::string pending;
  int completion_tokens = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    pending.append(data, n);
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
      const std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0 || event == "data: [DONE]") continue;
      const nlohmann::json chunk = nlohmann::json::parse(event.substr(6));
      if (!chunk["choices"].empty()) {
        const absl::Time now = absl::Now();
        if (result.tokens == 0) result.first = now;
        result.last = now;
        ++result.tokens;
      }
      if (chunk.contains("usage") && chunk["usage"].is_object()) {
        completion_tokens = chunk["usage"]["completion_tokens"];
      }
    }
    return true;
  };
  result.sent = absl::Now();
  httplib::Result r = client.send(req);
  result.ok = r && r->status == 200;
  if (!result.ok) {
    std::fprintf(stderr, "http: %s\n",
                 r ? std::to_string(r->status).c_str()
                   : httplib::to_string(r.error()).c_str());
  }
  // A chunk may carry more than one token (text held back for whole
  // characters): the usage counts them all.
  if (completion_tokens > 0) result.tokens = completion_tokens;
  return result;
}

// Microseconds to find an accepted loopback socket among `open_fds`
// descriptors: what ConnectionProbe costs each HTTP request.
double ProbeMicros(int open_fds, int repeats) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listener, 1);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  sockaddr_in client_addr{};
  len = sizeof client_addr;
  getsockname(client, reinterpret_cast<sockaddr*>(&client_addr), &len);
  const int accepted = accept(listener, nullptr, nullptr);
  std::vector<int> fillers;
  while (static_cast<int>(fillers.size()) < open_fds) {
    fillers.push_back(open("/dev/null", O_RDONLY));
  }
  std::vector<double> micros;
  for (int i = 0; i < repeats; ++i) {
    const absl::Time start = absl::Now();
    fm::gateway::openai::ConnectionProbe probe(
        ntohs(addr.sin_port), "127.0.0.1", ntohs(client_addr.sin_port));
    micros.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
    if (!probe.found()) std::fprintf(stderr, "probe: socket not found\n");
  }
  for (int fd : fillers) close(fd);
  close(accepted);
  close(client);
  close(listener);
  return fm::bench::Median(micros);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) quick |= std::strcmp(argv[i], "--quick") == 0;
  const std::string tokenizer =
      fm::testing::ModelFile("llama2-tokenizer.model");
  if (tokenizer.empty()) {
    std::fprintf(stderr,
                 "http_bench needs FM_MODELS with llama2-tokenizer.model\n");
    return 2;
  }
  const int pairs = quick ? 3 : 7;
  std::printf(
      "gRPC and HTTP single streams alternate (%d pairs of %s-token "
      "streams for tokens/s, %d pairs of 1-token ones for the time to first "
      "token; the order swapped each pair); figures are medians, the ratio "
      "and the difference the medians of the pairs'.\n\n"
      "| model | gRPC tok/s | HTTP tok/s | HTTP / gRPC | gRPC TTFT ms | "
      "HTTP TTFT ms | HTTP - gRPC TTFT ms "
      "|\n|---|---:|---:|---:|---:|---:|---:|"
      "\n",
      pairs, quick ? "64" : "256 (15M) / 128 (110M)", quick ? 7 : 31);
  for (const fm::bench::Shape& shape : fm::bench::StoryShapes()) {
    auto path = fm::bench::WriteRandomCheckpoint(shape);
    if (!path.ok()) return 1;
    const std::string port_file = fm::testing::MakeTempDir() + "/http.port";
    auto stack = fm::bench::BenchStack::Start(
        *path, tokenizer, 1,
        {"--http_listen=127.0.0.1:0", "--http_port_file=" + port_file,
         std::string("--served_model_name=") + kModelName});
    if (!stack.ok()) {
      std::fprintf(stderr, "%s\n", stack.status().ToString().c_str());
      return 1;
    }
    int port = 0;
    std::ifstream(port_file) >> port;
    httplib::Client http("127.0.0.1", port);
    http.set_keep_alive(true);
    http.set_tcp_nodelay(true);
    http.set_read_timeout(300, 0);
    const int tokens = quick ? 64 : (shape.dim > 500 ? 128 : 256);
    // Warm both paths: connections, the model's first pages.
    fm::bench::GrpcStream((*stack)->stub(), GrpcRequest(8));
    HttpStream(http, 8);
    std::vector<double> grpc_rate, http_rate, ratios;
    for (int pair = 0; pair < pairs; ++pair) {
      StreamResult g, h;
      if (pair % 2 == 0) {
        g = fm::bench::GrpcStream((*stack)->stub(), GrpcRequest(tokens));
        h = HttpStream(http, tokens);
      } else {
        h = HttpStream(http, tokens);
        g = fm::bench::GrpcStream((*stack)->stub(), GrpcRequest(tokens));
      }
      if (!g.ok || !h.ok || g.tokens != h.tokens) {
        std::fprintf(stderr, "pair %d: gRPC %d tokens, HTTP %d tokens\n", pair,
                     g.tokens, h.tokens);
        return 1;
      }
      grpc_rate.push_back(g.TokensPerSecond());
      http_rate.push_back(h.TokensPerSecond());
      ratios.push_back(h.TokensPerSecond() / g.TokensPerSecond());
    }
    // Time to first token moves by milliseconds from one request to the
    // next at 110M: many short pairs, one token each.
    std::vector<double> grpc_first, http_first, first_diffs;
    for (int pair = 0; pair < (quick ? 7 : 31); ++pair) {
      StreamResult g, h;
      if (pair % 2 == 0) {
        g = fm::bench::GrpcStream((*stack)->stub(), GrpcRequest(1));
        h = HttpStream(http, 1);
      } else {
        h = HttpStream(http, 1);
        g = fm::bench::GrpcStream((*stack)->stub(), GrpcRequest(1));
      }
      if (!g.ok || !h.ok) return 1;
      grpc_first.push_back(g.TimeToFirstTokenMs());
      http_first.push_back(h.TimeToFirstTokenMs());
      first_diffs.push_back(h.TimeToFirstTokenMs() - g.TimeToFirstTokenMs());
    }
    std::printf("| %s | %.1f | %.1f | %.1f%% | %.2f | %.2f | %+.2f |\n",
                shape.name, fm::bench::Median(grpc_rate),
                fm::bench::Median(http_rate), 100 * fm::bench::Median(ratios),
                fm::bench::Median(grpc_first), fm::bench::Median(http_first),
                fm::bench::Median(first_diffs));
    std::fflush(stdout);
  }
  std::printf(
      "\nConnectionProbe (one per HTTP request): median us to find the "
      "request's socket in /proc/self/fd.\n\n| open descriptors | us |\n"
      "|---:|---:|\n");
  for (int fds : {100, 1000}) {
    std::printf("| %d | %.1f |\n", fds, ProbeMicros(fds, quick ? 21 : 101));
  }
  return 0;
}
