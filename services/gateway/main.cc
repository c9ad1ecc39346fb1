// fm-gateway: the public API. Chains fm-tokenizer, fm-model and fm-sampler
// into streaming generation and scoring.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/bearer_auth.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/gateway/backends.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/openai/openai_server.h"
#include "services/gateway/route_table.h"

ABSL_FLAG(std::string, tokenizer, "127.0.0.1:50051",
          "fm-tokenizer address (HOST:PORT[,HOST:PORT...]).");
ABSL_FLAG(std::string, model, "127.0.0.1:50052",
          "fm-model address (HOST:PORT[,...]). A session stays on one "
          "backend for its whole life.");
ABSL_FLAG(std::string, sampler, "127.0.0.1:50053",
          "A sampler route: ADDR[,ADDR...] for the default route, "
          "NAME=ADDR[,ADDR...] for a named one. Repeat the flag for more "
          "routes.");
ABSL_FLAG(int, max_concurrent, 16,
          "Generations running at once; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_prompt_tokens, 4096, "Largest prompt, in tokens.");
ABSL_FLAG(int, max_tokens_limit, 4096, "Largest max_tokens a request may ask.");
ABSL_FLAG(int, default_max_tokens, 256,
          "max_tokens when a request gives none.");
ABSL_FLAG(int, cache_entries, 1024,
          "Deterministic responses kept in the exact response cache (0: off).");
ABSL_FLAG(absl::Duration, default_timeout, absl::Minutes(10),
          "Deadline for downstream calls when the client set none.");
ABSL_FLAG(int, resume_attempts, 3,
          "Times per request and dependency a model or sampler session lost "
          "mid-generation (service restarted, connection broken) is "
          "replaced: the model's by re-prefilling prompt and generated "
          "tokens, the sampler's by continuing each sequence from its "
          "tokens (0: end the request UNAVAILABLE instead).");
ABSL_FLAG(absl::Duration, resume_timeout, absl::Seconds(10),
          "How long one resume waits for a replica to accept a connection.");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "Bearer tokens (one per line) that may call the API; unset (and "
          "no --admin_tokens_file): no authentication. Health stays public.");
ABSL_FLAG(std::string, admin_tokens_file, "",
          "Bearer tokens that may also change routes (SetRoute, "
          "DeleteRoute).");
ABSL_FLAG(
    std::string, downstream_tls_ca, "",
    "PEM CA that verifies the downstream services (enables TLS to them).");
ABSL_FLAG(std::string, downstream_tls_cert, "",
          "PEM client certificate for downstream mTLS.");
ABSL_FLAG(std::string, downstream_tls_key, "",
          "PEM key of --downstream_tls_cert.");
ABSL_FLAG(absl::Duration, downstream_keepalive, absl::Seconds(1),
          "Ping a downstream connection after this much silence: with "
          "--downstream_keepalive_timeout, how soon a frozen or partitioned "
          "replica is noticed (and its generations resumed elsewhere).");
ABSL_FLAG(absl::Duration, downstream_keepalive_timeout, absl::Seconds(1),
          "A downstream connection whose ping is not answered within this "
          "long is closed.");
ABSL_FLAG(absl::Duration, health_period, absl::Seconds(1),
          "How often downstream health is polled.");
ABSL_FLAG(std::string, http_listen, "",
          "HOST:PORT for the OpenAI-compatible HTTP API (/v1/completions, "
          "/v1/chat/completions, /v1/models, /health); empty: off.");
ABSL_FLAG(std::string, http_port_file, "",
          "Write the bound HTTP port here (for --http_listen=HOST:0).");
ABSL_FLAG(int64_t, http_max_body_bytes, 8 << 20,
          "Largest HTTP request body, [1024, 1073741824] bytes; larger gets "
          "413.");
ABSL_FLAG(int, http_threads, 0,
          "HTTP connections served at once, [1, 4096]; 0: --max_concurrent "
          "+ 8.");
ABSL_FLAG(bool, log_prompts, false,
          "Log the prompt of every Generate and Chat call (with its request "
          "id). Off: no prompt text or token is logged.");
ABSL_FLAG(std::string, served_model_name, "",
          "The model id of the HTTP API; empty: the model file's name "
          "without directory and extension.");

int main(int argc, char** argv) {
  fm::ServerRunner::BlockShutdownSignals();
  // --sampler may be repeated (absl keeps only the last occurrence of a
  // flag), so collect every occurrence before absl parses the rest.
  std::vector<std::string> sampler_flags, verifier_flags;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--sampler=", 0) == 0) {
      sampler_flags.push_back(arg.substr(10));
    } else if (arg == "--sampler" && i + 1 < argc) {
      sampler_flags.push_back(argv[++i]);
    } else if (arg.rfind("--verifier=", 0) == 0) {
      verifier_flags.push_back(arg.substr(11));
    } else if (arg == "--verifier" && i + 1 < argc) {
      verifier_flags.push_back(argv[++i]);
    } else {
      args.push_back(argv[i]);
    }
  }
  fm::InitService(
      "fm-gateway",
      "fm-gateway --tokenizer=ADDR --model=ADDR --sampler=[NAME=]ADDR... "
      "[--verifier=NAME=ADDR]...",
      static_cast<int>(args.size()), args.data());
  if (sampler_flags.empty())
    sampler_flags.push_back(absl::GetFlag(FLAGS_sampler));
  fm::ChannelOptions downstream;
  downstream.tls_ca = absl::GetFlag(FLAGS_downstream_tls_ca);
  downstream.tls_cert = absl::GetFlag(FLAGS_downstream_tls_cert);
  downstream.tls_key = absl::GetFlag(FLAGS_downstream_tls_key);
  downstream.keepalive_time = absl::GetFlag(FLAGS_downstream_keepalive);
  downstream.keepalive_timeout =
      absl::GetFlag(FLAGS_downstream_keepalive_timeout);
  for (const absl::Duration d :
       {downstream.keepalive_time, downstream.keepalive_timeout}) {
    if (d < absl::Milliseconds(500) || d > absl::Hours(24)) {
      FM_LOG(ERROR) << "--downstream_keepalive and "
                       "--downstream_keepalive_timeout must be in [500ms, 24h]"
                    << " (got " << absl::FormatDuration(d) << ")";
      return 2;
    }
  }
  fm::gateway::RouteTable routes{downstream};
  for (const std::string& spec : sampler_flags) {
    absl::Status added = routes.AddFlag(spec);
    if (!added.ok()) {
      FM_LOG(ERROR) << "--sampler=" << spec << ": " << added;
      return 2;
    }
  }
  if (!routes.Find("default").ok()) {
    FM_LOG(ERROR) << "--sampler needs a default route (an ADDR without NAME=)";
    return 2;
  }
  auto backends = fm::gateway::Backends::Create(absl::GetFlag(FLAGS_tokenizer),
                                                absl::GetFlag(FLAGS_model),
                                                &routes, downstream);
  if (!backends.ok()) {
    FM_LOG(ERROR) << backends.status();
    return 2;
  }
  for (const std::string& spec : verifier_flags) {
    absl::Status added = (*backends)->AddVerifier(spec);
    if (!added.ok()) {
      FM_LOG(ERROR) << added;
      return 2;
    }
  }
  fm::gateway::GatewayOptions options;
  options.max_concurrent = absl::GetFlag(FLAGS_max_concurrent);
  options.cache_entries = absl::GetFlag(FLAGS_cache_entries);
  options.log_prompts = absl::GetFlag(FLAGS_log_prompts);
  options.limits.max_prompt_tokens = absl::GetFlag(FLAGS_max_prompt_tokens);
  options.limits.max_tokens_limit = absl::GetFlag(FLAGS_max_tokens_limit);
  options.limits.default_max_tokens = absl::GetFlag(FLAGS_default_max_tokens);
  options.limits.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  options.limits.max_resumes = absl::GetFlag(FLAGS_resume_attempts);
  options.limits.resume_timeout = absl::GetFlag(FLAGS_resume_timeout);
  auto auth = fm::BearerAuth::Load(absl::GetFlag(FLAGS_auth_tokens_file),
                                   absl::GetFlag(FLAGS_admin_tokens_file));
  if (!auth.ok()) {
    FM_LOG(ERROR) << auth.status();
    return 2;
  }
  options.auth = *std::move(auth);
  FM_LOG(INFO) << "authentication: "
               << (options.auth.enabled() ? "bearer tokens" : "off");
  fm::gateway::GatewayServiceImpl service(backends->get(), options);

  fm::ServerOptions server_options =
      fm::ServerOptionsFromFlags("0.0.0.0:50050");
  server_options.metrics = {fm::gateway::GatewayServiceMetrics(service)};
  auto runner =
      fm::ServerRunner::Start(server_options, {&service},
                              {fm::v1::GatewayService::service_full_name()});
  if (!runner.ok()) {
    FM_LOG(ERROR) << runner.status();
    return 1;
  }
  fm::ServerRunner* server = runner->get();
  (*backends)->StartWatcher(absl::GetFlag(FLAGS_health_period),
                            [server](bool up) { server->SetServing(up); });
  std::unique_ptr<fm::gateway::openai::OpenAiServer> http;
  if (!absl::GetFlag(FLAGS_http_listen).empty()) {
    fm::gateway::openai::HttpOptions http_options;
    http_options.listen = absl::GetFlag(FLAGS_http_listen);
    http_options.port_file = absl::GetFlag(FLAGS_http_port_file);
    const int64_t max_body = absl::GetFlag(FLAGS_http_max_body_bytes);
    if (max_body < 1024 || max_body > (int64_t{1} << 30)) {
      FM_LOG(ERROR) << "--http_max_body_bytes = " << max_body
                    << " must be in [1024, 1073741824]";
      return 2;
    }
    http_options.max_body_bytes = static_cast<size_t>(max_body);
    const int threads = absl::GetFlag(FLAGS_http_threads);
    http_options.threads = threads == 0 ? options.max_concurrent + 8 : threads;
    http_options.timeout = options.limits.default_timeout;
    http_options.served_model_name = absl::GetFlag(FLAGS_served_model_name);
    auto started = fm::gateway::openai::OpenAiServer::Start(
        http_options, server->server(), backends->get());
    if (!started.ok()) {
      FM_LOG(ERROR) << started.status();
      return 2;
    }
    http = *std::move(started);
  }
  server->WaitForShutdownSignal();
  // In-flight HTTP requests end with their gateway calls.
  http.reset();
  // The watcher reports health through the runner: stop it first.
  (*backends)->StopWatcher();
  return 0;
}
