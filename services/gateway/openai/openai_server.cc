// The HTTP side: routes, the request plan, the calls it starts, and the
// loop that turns their events into one response or an event stream while
// watching the client's connection.
#include "services/gateway/openai/openai_server.h"

#include <httplib.h>

#include <cstdint>
#include <ctime>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/server_runner.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/openai/connection_probe.h"
#include "services/gateway/openai/gateway_calls.h"
#include "services/gateway/openai/openai_request.h"
#include "services/gateway/openai/openai_response.h"

namespace fm::gateway::openai {
namespace {

// How often a waiting handler looks at its client's connection: a client
// gone mid-generation is noticed (and its generation cancelled) this soon.
constexpr absl::Duration kProbePeriod = absl::Milliseconds(50);

// True at most once per kProbePeriod.
class ProbeClock {
 public:
  bool Due() {
    const absl::Time now = absl::Now();
    if (now < next_) return false;
    next_ = now + kProbePeriod;
    return true;
  }

 private:
  absl::Time next_ = absl::Now() + kProbePeriod;
};

void SendError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatusFor(status.code());
  res.set_content(ErrorJson(status), "application/json");
}

std::string RandomId(absl::string_view prefix) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%s%016x%08x", prefix, absl::Uniform<uint64_t>(*gen),
                         absl::Uniform<uint32_t>(*gen));
}

// "dir/stories15M.bin" -> "stories15M".
std::string ModelIdFromPath(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name.empty() ? "model" : name;
}

// "HOST:PORT" or "[V6]:PORT".
absl::Status SplitHostPort(const std::string& listen, std::string* host,
                           int* port) {
  const size_t colon = listen.find_last_of(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http_listen=", listen, " is not HOST:PORT"));
  }
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (!absl::SimpleAtoi(listen.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http_listen=", listen, ": the port must be in [0, 65535]"));
  }
  return absl::OkStatus();
}

}  // namespace

class OpenAiServer::Handlers {
 public:
  Handlers(const HttpOptions& options, grpc::Server* grpc_server,
           Backends* backends)
      : options_(options), backends_(backends) {
    std::shared_ptr<grpc::Channel> channel =
        grpc_server->InProcessChannel(grpc::ChannelArguments());
    gateway_ = fm::v1::GatewayService::NewStub(channel);
    health_ = grpc::health::v1::Health::NewStub(channel);
  }

  void Health(const httplib::Request&, httplib::Response& res) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckResponse out;
    const grpc::Status s = health_->Check(&ctx, {}, &out);
    const bool up =
        s.ok() &&
        out.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    res.status = up ? 200 : 503;
    res.set_content(up ? R"({"status":"ok"})" : R"({"status":"unavailable"})",
                    "application/json");
  }

  void Models(const httplib::Request& req, httplib::Response& res) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!Authorization(req).empty()) {
      ctx.AddMetadata("authorization", Authorization(req));
    }
    fm::v1::GatewayInfo info;
    const grpc::Status s = gateway_->Info(&ctx, {}, &info);
    if (!s.ok()) {
      SendError(res, absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                                  s.error_message()));
      return;
    }
    const std::string id = ModelName(info.model().model_path());
    res.set_content(
        absl::StrFormat(
            R"({"object":"list","data":[{"id":"%s","object":"model",)"
            R"("created":%d,"owned_by":"fmserve","max_model_len":%d}]})",
            id, static_cast<int64_t>(std::time(nullptr)),
            info.model().context_length()),
        "application/json");
  }

  void Generate(Endpoint endpoint, const httplib::Request& req,
                httplib::Response& res) {
    absl::StatusOr<std::shared_ptr<const PipelineFacts>> facts =
        backends_->Facts();
    if (!facts.ok()) {
      SendError(res, facts.status());
      return;
    }
    const std::string auth = Authorization(req);
    if (!ValidHeaderValue(auth)) {
      SendError(res, absl::UnauthenticatedError(
                         "the Authorization header is not printable ASCII"));
      return;
    }
    const std::string model = ModelName((*facts)->model.model_path());
    absl::StatusOr<OpenAiPlan> parsed =
        ParseOpenAiRequest(endpoint, req.body, model);
    if (!parsed.ok()) {
      SendError(res, parsed.status());
      return;
    }
    // Shared with the stream's content provider, which runs after this
    // handler returns.
    struct Exchange {
      OpenAiPlan plan;
      std::unique_ptr<GatewayCalls> calls;
      std::unique_ptr<ResponseRenderer> renderer;
      ConnectionProbe probe;
      std::vector<CallEvent> early;  // taken before the stream began
    };
    auto ex = std::make_shared<Exchange>(Exchange{
        *std::move(parsed),
        nullptr,
        nullptr,
        ConnectionProbe(req.local_port, req.remote_addr, req.remote_port),
        {}});
    ex->calls = std::make_unique<GatewayCalls>(gateway_.get(), auth,
                                               absl::Now() + options_.timeout);
    std::shared_ptr<const text::VocabDetokenizer> vocab = (*facts)->vocab;
    ResponseIdentity identity;
    identity.id = RandomId(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-");
    identity.created = static_cast<int64_t>(std::time(nullptr));
    identity.model = ex->plan.model;
    identity.system_fingerprint =
        "fm-" + (*facts)->model.model_sha256().substr(0, 12);
    ex->renderer = std::make_unique<ResponseRenderer>(
        ex->plan, identity, [vocab](int32_t id) -> std::string {
          if (id < 0 || id >= vocab->vocab_size()) return "";
          const text::VocabEntry& e = vocab->entry(id);
          return e.text.empty() ? e.piece : e.text;
        });
    if (endpoint == Endpoint::kChat) {
      ex->calls->StartChat(ex->plan.chat);
    } else {
      for (const fm::v1::GenerateRequest& r : ex->plan.prompts) {
        ex->calls->StartGenerate(r);
      }
    }

    // Until the first event, nothing is sent: a refused request gets its
    // own HTTP status.
    absl::Status failed;
    ProbeClock probe_clock;
    while (!ex->calls->Finished()) {
      std::optional<CallEvent> event = ex->calls->Next(kProbePeriod);
      if (probe_clock.Due() && ex->probe.Closed()) {
        ex->calls->CancelAll();
        FM_LOG(INFO) << "http: client " << req.remote_addr << ":"
                     << req.remote_port << " left; generation cancelled";
        return;  // ~GatewayCalls waits for the calls to end
      }
      if (!event.has_value()) continue;
      if (event->done && !event->status.ok()) {
        failed = event->status;
        ex->calls->CancelAll();
        continue;  // drain the other calls' ends
      }
      if (ex->plan.stream && failed.ok() && !event->done) {
        ex->early.push_back(*std::move(event));
        break;
      }
      if (!event->done) ex->renderer->Add(event->call, event->message);
    }
    if (!failed.ok()) {
      SendError(res, failed);
      return;
    }
    if (!ex->plan.stream) {
      res.set_content(ex->renderer->Whole(), "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [ex](size_t, httplib::DataSink& sink) {
          return Stream(*ex->calls, *ex->renderer, ex->probe, ex->early, sink);
        },
        [ex](bool) { ex->calls->CancelAll(); });
  }

 private:
  // Writes the stream to its end (or until the client goes): the opening
  // chunks, every message's chunks, usage, [DONE]; a call's failure after
  // the start is an error event, as OpenAI sends one. False when the
  // client went first.
  static bool Stream(GatewayCalls& calls, ResponseRenderer& renderer,
                     const ConnectionProbe& probe,
                     std::vector<CallEvent>& early, httplib::DataSink& sink) {
    bool open = true;
    auto send = [&](const std::string& json) {
      if (!open) return;
      const std::string event = absl::StrCat("data: ", json, "\n\n");
      open = sink.write(event.data(), event.size());
    };
    for (const std::string& chunk : renderer.Start()) send(chunk);
    for (const CallEvent& e : early) {
      for (const std::string& chunk : renderer.Add(e.call, e.message)) {
        send(chunk);
      }
    }
    early.clear();
    absl::Status failed;
    ProbeClock probe_clock;
    while (open && !calls.Finished()) {
      std::optional<CallEvent> event = calls.Next(kProbePeriod);
      if (probe_clock.Due() && probe.Closed()) open = false;
      if (!event.has_value()) continue;
      if (event->done) {
        if (!event->status.ok() && failed.ok()) {
          failed = event->status;
          calls.CancelAll();
        }
        continue;
      }
      if (!failed.ok()) continue;
      for (const std::string& chunk :
           renderer.Add(event->call, event->message)) {
        send(chunk);
      }
    }
    if (!open) {
      calls.CancelAll();
      return false;
    }
    if (!failed.ok()) {
      send(ErrorJson(failed));
    } else {
      for (const std::string& chunk : renderer.Finish()) send(chunk);
      const std::string done = "data: [DONE]\n\n";
      if (open) open = sink.write(done.data(), done.size());
    }
    if (open) sink.done();
    return open;
  }

  static std::string Authorization(const httplib::Request& req) {
    return req.get_header_value("Authorization");
  }
  // gRPC metadata values are printable ASCII.
  static bool ValidHeaderValue(const std::string& value) {
    for (unsigned char c : value) {
      if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
  }
  std::string ModelName(const std::string& model_path) const {
    return options_.served_model_name.empty() ? ModelIdFromPath(model_path)
                                              : options_.served_model_name;
  }

  const HttpOptions options_;
  Backends* backends_;
  std::unique_ptr<fm::v1::GatewayService::Stub> gateway_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

absl::StatusOr<std::unique_ptr<OpenAiServer>> OpenAiServer::Start(
    const HttpOptions& options, grpc::Server* grpc_server, Backends* backends) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(options.listen, &host, &port); !s.ok()) {
    return s;
  }
  if (options.threads < 1 || options.threads > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http_threads = ", options.threads, " must be in [1, 4096]"));
  }
  std::unique_ptr<OpenAiServer> server(new OpenAiServer());
  server->handlers_ =
      std::make_unique<Handlers>(options, grpc_server, backends);
  server->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->http_;
  Handlers* h = server->handlers_.get();
  const int threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_body_bytes);
  // Small SSE chunks go out at once, not after Nagle's delay.
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  http.set_read_timeout(60, 0);
  http.set_write_timeout(60, 0);
  http.Get("/health", [h](const httplib::Request& req, httplib::Response& res) {
    h->Health(req, res);
  });
  http.Get("/v1/models", [h](const httplib::Request& req,
                             httplib::Response& res) { h->Models(req, res); });
  http.Post("/v1/completions",
            [h](const httplib::Request& req, httplib::Response& res) {
              h->Generate(Endpoint::kCompletions, req, res);
            });
  http.Post("/v1/chat/completions",
            [h](const httplib::Request& req, httplib::Response& res) {
              h->Generate(Endpoint::kChat, req, res);
            });
  const size_t max_body = options.max_body_bytes;
  // Errors httplib answers itself (unknown path, body too large) in
  // OpenAI's shape too.
  http.set_error_handler(
      [max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        absl::Status status;
        if (res.status == 413) {
          status = absl::InvalidArgumentError(absl::StrCat(
              "the body is larger than --http_max_body_bytes = ", max_body));
        } else if (res.status == 404) {
          status = absl::NotFoundError(
              absl::StrCat("no route ", req.method, " ", req.path));
        } else {
          status = absl::InvalidArgumentError(absl::StrCat(
              "HTTP ", res.status, " for ", req.method, " ", req.path));
        }
        const int code = res.status;
        res.set_content(ErrorJson(status), "application/json");
        res.status = code;
      });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendError(res, absl::InternalError("the request handler failed"));
      });
  server->port_ = port == 0 ? http.bind_to_any_port(host)
                            : (http.bind_to_port(host, port) ? port : -1);
  if (server->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("--http_listen=", options.listen, ": cannot listen"));
  }
  server->listener_ = std::thread([&http] { http.listen_after_bind(); });
  if (!options.port_file.empty()) {
    if (absl::Status s = WritePortFile(options.port_file, server->port_);
        !s.ok()) {
      return s;
    }
  }
  FM_LOG(INFO) << "OpenAI-compatible HTTP on " << host << ":" << server->port_;
  return server;
}

OpenAiServer::~OpenAiServer() {
  if (http_ != nullptr) http_->stop();
  if (listener_.joinable()) listener_.join();
}

}  // namespace fm::gateway::openai
