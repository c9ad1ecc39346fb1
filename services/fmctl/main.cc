// fmctl entry point: global flags, then `fmctl [flags] COMMAND [args]`.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/bearer_auth.h"
#include "common/channel_factory.h"
#include "common/status_util.h"
#include "services/fmctl/fmctl.h"

ABSL_FLAG(std::string, tokenizer, "",
          "fm-tokenizer address (HOST:PORT[,...]).");
ABSL_FLAG(std::string, model, "", "fm-model address (HOST:PORT[,...]).");
ABSL_FLAG(std::string, sampler, "", "fm-sampler address (HOST:PORT[,...]).");
ABSL_FLAG(std::string, target, "", "Address for `health`.");
ABSL_FLAG(std::string, logits, "",
          "`sample`: file of raw little-endian float32 logits.");
ABSL_FLAG(std::string, chain, "", "Sampler chain as JSON.");
ABSL_FLAG(std::string, profile, "", "Sampler profile name.");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt,
          "RNG seed in [0, 2^64) (default: the service picks one).");
ABSL_FLAG(int, count, 1,
          "`sample`: number of draws in [1, 10^8] (sent in calls of the "
          "sampler's per-call limit, one seed stream).");
ABSL_FLAG(std::string, gateway, "",
          "fm-gateway address (default $FM_GATEWAY).");
ABSL_FLAG(std::string, token, "",
          "Bearer token sent with every call (default $FM_TOKEN).");
ABSL_FLAG(std::optional<double>, temperature, std::nullopt,
          "`generate`: temperature in [0, 2].");
ABSL_FLAG(std::optional<int>, top_k, std::nullopt,
          "`generate`: top-k >= 0 (0 = off).");
ABSL_FLAG(std::optional<double>, top_p, std::nullopt,
          "`generate`: top-p in (0, 1].");
ABSL_FLAG(std::optional<double>, min_p, std::nullopt,
          "`generate`: min-p in [0, 1].");
ABSL_FLAG(std::optional<double>, repetition_penalty, std::nullopt,
          "`generate`: repetition penalty in (0, 10].");
ABSL_FLAG(std::optional<double>, presence_penalty, std::nullopt,
          "`generate`: presence penalty in [-2, 2].");
ABSL_FLAG(std::optional<double>, frequency_penalty, std::nullopt,
          "`generate`: frequency penalty in [-2, 2].");
ABSL_FLAG(int, max_tokens, 0,
          "`generate`: tokens to generate, >= 0 (0: the gateway's default).");
ABSL_FLAG(int, min_tokens, 0,
          "`generate`: no EOS/stop id before this many (>= 0).");
ABSL_FLAG(int, n, 1, "`generate`: independent samples (>= 1).");
ABSL_FLAG(bool, logprobs, false, "`generate`: report token logprobs.");
ABSL_FLAG(int, top_logprobs, 0, "Top alternatives per token (>= 0).");
ABSL_FLAG(bool, processed_logprobs, false,
          "Logprobs after the sampler chain instead of the model's.");
ABSL_FLAG(std::string, sampler_route, "", "`generate`: sampler route name.");
ABSL_FLAG(bool, json, false, "`generate`: one JSON object per message.");
ABSL_FLAG(bool, stats, false,
          "`generate`, `chat`: time to first token and live tokens/s on "
          "stderr.");
ABSL_FLAG(bool, no_bos, false, "Do not prepend BOS to the prompt.");
ABSL_FLAG(bool, ignore_eos, false, "`generate`: keep going past EOS.");
ABSL_FLAG(bool, include_stop_str, false, "`generate`: keep the stop string.");
ABSL_FLAG(bool, trace, false, "`generate`: per-stage sampler trace.");
ABSL_FLAG(bool, no_cache, false, "`generate`: bypass the response cache.");
ABSL_FLAG(std::vector<std::string>, shadow, {},
          "`generate`: profiles to run in the shadow (comma-separated).");
ABSL_FLAG(std::string, ids, "", "`forward`: token ids, e.g. \"1 403 407\".");
ABSL_FLAG(int, top, 10,
          "`forward`: how many of the highest logits to print (>= 1).");
ABSL_FLAG(std::string, service, "",
          "Service name for `health` (default: the whole server).");
ABSL_FLAG(bool, bos, false, "`tokenize`: prepend BOS.");
ABSL_FLAG(bool, eos, false, "`tokenize`: append EOS.");
ABSL_FLAG(bool, no_generation_prompt, false,
          "`render-chat`: do not end with the assistant's turn header.");
ABSL_FLAG(int, beam_width, 0,
          "`generate`: beam search with this many beams, in [0, 8] (0: off).");
ABSL_FLAG(std::optional<double>, length_penalty, std::nullopt,
          "`generate --beam-width`: length normalisation exponent in [0, 4] "
          "(default 1).");
ABSL_FLAG(bool, early_stopping, false,
          "`generate --beam-width`: stop once beam-width beams finished.");
ABSL_FLAG(int, best_of, 0,
          "`generate`: sample this many candidates, return the best --n (>= "
          "0; 0: off).");
ABSL_FLAG(std::string, select, "mean_logprob",
          "`generate --best-of`: mean_logprob, sum_logprob, majority or "
          "verifier.");
ABSL_FLAG(std::string, verifier, "",
          "`--select=verifier`: the gateway's verifier name.");
ABSL_FLAG(std::string, extract, "",
          "`--select=majority`: PCRE2 pattern whose first group is the "
          "answer.");
ABSL_FLAG(bool, trim, false, "`--select=majority`: trim answers.");
ABSL_FLAG(bool, ignore_case, false, "`--select=majority`: lowercase answers.");
ABSL_FLAG(std::string, json_schema, "",
          "Constraint: a file holding a JSON Schema (`-`: stdin).");
ABSL_FLAG(std::string, regex, "", "Constraint: a regular expression.");
ABSL_FLAG(std::string, grammar, "",
          "Constraint: a file holding a GBNF grammar (`-`: stdin).");
ABSL_FLAG(std::optional<int>, max_whitespace, std::nullopt,
          "Constraint: whitespace allowed per gap in JSON, in [0, 64] "
          "(default 12).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "Deadline of each call (> 0).");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA that verifies the server (TLS).");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mTLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM client key (mTLS).");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name to check in the server certificate.");

namespace fm::fmctl {

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"tokenize", "fmctl --tokenizer=ADDR tokenize [--bos] [--eos] TEXT|-",
       RunTokenize},
      {"detokenize", "fmctl --tokenizer=ADDR detokenize ID...", RunDetokenize},
      {"generate",
       "fmctl --gateway=ADDR generate [--temperature T] [--top-k K] "
       "[--top-p P] [--min-p P] [--seed N] [--max-tokens N] [--stop S]... "
       "[--n N] [--profile NAME | --chain JSON] [--logprobs] [--json] "
       "[--stats] "
       "[--sampler-route NAME] [--json-schema FILE | --regex RE | "
       "--grammar FILE | --choice S...] [--best-of N [--select "
       "mean_logprob|sum_logprob|majority|verifier] [--verifier NAME] "
       "[--extract RE] [--trim] [--ignore-case]] [--beam-width N "
       "[--length-penalty X] [--early-stopping]] PROMPT|-",
       RunGenerateCommand},
      {"chat", "fmctl --gateway=ADDR chat [generate's options] MESSAGES_JSON|-",
       RunChatCommand},
      {"render-chat",
       "fmctl --tokenizer=ADDR render-chat [--no-generation-prompt] "
       "MESSAGES_JSON|-",
       RunRenderChat},
      {"score", "fmctl --gateway=ADDR score PROMPT CONTINUATION...", RunScore},
      {"check-constraint",
       "fmctl --gateway=ADDR check-constraint (--json-schema=FILE | "
       "--regex=RE | --grammar=FILE | --choice=S...) [--max-whitespace=N] "
       "TEXT|-   (exit 0 accepted, 1 rejected, 2 error)",
       RunCheckConstraint},
      {"routes",
       "fmctl --gateway=ADDR routes [list | set NAME ADDR | delete NAME]",
       RunRoutes},
      {"info",
       "fmctl (--gateway=ADDR | --model=ADDR | --sampler=ADDR | "
       "--tokenizer=ADDR) info",
       RunInfo},
      {"forward", "fmctl --model=ADDR forward --ids \"1 403 407\" [--top K]",
       RunForward},
      {"stages", "fmctl --sampler=ADDR stages", RunStages},
      {"profiles",
       "fmctl --sampler=ADDR profiles list|get NAME|put NAME CHAIN_JSON|"
       "delete NAME",
       RunProfiles},
      {"sample",
       "fmctl --sampler=ADDR sample --logits=FILE (--chain=JSON | "
       "--profile=NAME) [--seed=N] [--count=K]",
       RunSample},
      {"health", "fmctl health --target=ADDR [--service=NAME]", RunHealth},
  };
  return *commands;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFor(
    const std::string& flag_name, const std::string& address,
    const char* fallback_env) {
  std::string target = address;
  if (target.empty() && fallback_env != nullptr) {
    const char* env = std::getenv(fallback_env);
    if (env != nullptr) target = env;
  }
  if (target.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag_name, "=HOST:PORT is required",
        fallback_env != nullptr ? absl::StrCat(" (or set ", fallback_env, ")")
                                : ""));
  }
  ChannelOptions options;
  options.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  return MakeChannel(target, options);
}

std::unique_ptr<grpc::ClientContext> NewContext() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(DeadlineAfter(absl::GetFlag(FLAGS_timeout)));
  return ctx;
}

std::unique_ptr<grpc::ClientContext> NewGatewayContext() {
  auto ctx = NewContext();
  std::string token = absl::GetFlag(FLAGS_token);
  if (token.empty() && std::getenv("FM_TOKEN") != nullptr) {
    token = std::getenv("FM_TOKEN");
  }
  AddBearerToken(ctx.get(), token);
  return ctx;
}

int Fail(const std::string& what, const grpc::Status& status) {
  return Fail(what, FromGrpcStatus(status, what));
}

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "fmctl: %s\n", status.ToString().c_str());
  return 1;
}

int Usage(const char* command) {
  for (const Command& c : Commands()) {
    if (std::string(c.name) == command) {
      std::fprintf(stderr, "usage: %s\n", c.usage);
    }
  }
  return 2;
}

std::vector<std::string>& StopArgs() {
  static auto* stops = new std::vector<std::string>();
  return *stops;
}

std::vector<std::string>& ChoiceArgs() {
  static auto* choices = new std::vector<std::string>();
  return *choices;
}

int RunGenerateCommand(const Args& args) {
  return RunGenerate(args, StopArgs());
}

int RunChatCommand(const Args& args) { return RunChat(args, StopArgs()); }

int RunInfo(const Args& args) {
  if (!args.empty()) return Usage("info");
  // The service whose address flag is given; else the first of FM_GATEWAY,
  // FM_MODEL, FM_SAMPLER, FM_TOKENIZER that is set; else the model (whose
  // error names the missing flag).
  struct Target {
    std::string flag;
    const char* env;
    int (*run)();
  };
  const Target targets[] = {
      {absl::GetFlag(FLAGS_gateway), "FM_GATEWAY", RunGatewayInfo},
      {absl::GetFlag(FLAGS_model), "FM_MODEL", RunModelInfo},
      {absl::GetFlag(FLAGS_sampler), "FM_SAMPLER", RunSamplerInfo},
      {absl::GetFlag(FLAGS_tokenizer), "FM_TOKENIZER", RunTokenizerInfo},
  };
  for (const Target& t : targets) {
    if (!t.flag.empty()) return t.run();
  }
  for (const Target& t : targets) {
    if (std::getenv(t.env) != nullptr) return t.run();
  }
  return RunModelInfo();
}

void PrintProtoJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  google::protobuf::util::MessageToJsonString(message, &json, options);
  std::fputs(json.c_str(), stdout);
}

std::string TextArg(const std::string& arg) {
  if (arg != "-") return arg;
  return std::string(std::istreambuf_iterator<char>(std::cin),
                     std::istreambuf_iterator<char>());
}

}  // namespace fm::fmctl

int main(int argc, char** argv) {
  std::string usage = "fmctl [flags] COMMAND [args]\ncommands:\n";
  for (const auto& c : fm::fmctl::Commands()) {
    absl::StrAppend(&usage, "  ", c.usage, "\n");
  }
  absl::SetProgramUsageMessage(usage);
  // Accept --top-k as well as --top_k, and collect the repeatable --stop
  // (absl flags keep only the last occurrence).
  std::vector<std::string> storage;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (; i < argc; ++i) storage.emplace_back(argv[i]);
      break;
    }
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      for (size_t c = 2; c < std::min(eq, arg.size()); ++c) {
        if (arg[c] == '-') arg[c] = '_';
      }
      if (arg == "--stop" && i + 1 < argc) {
        fm::fmctl::StopArgs().emplace_back(argv[++i]);
        continue;
      }
      if (arg.rfind("--stop=", 0) == 0) {
        fm::fmctl::StopArgs().push_back(arg.substr(7));
        continue;
      }
      if (arg == "--choice" && i + 1 < argc) {
        fm::fmctl::ChoiceArgs().emplace_back(argv[++i]);
        continue;
      }
      if (arg.rfind("--choice=", 0) == 0) {
        fm::fmctl::ChoiceArgs().push_back(arg.substr(9));
        continue;
      }
    }
    storage.push_back(arg);
  }
  std::vector<char*> rewritten;
  for (std::string& a : storage) rewritten.push_back(a.data());
  std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(rewritten.size()), rewritten.data());
  if (positional.size() < 2) {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  const std::string name = positional[1];
  if (const absl::Status ranges = fm::fmctl::CheckNumericFlags();
      !ranges.ok()) {
    std::fprintf(stderr, "fmctl: %s\n", std::string(ranges.message()).c_str());
    return 2;
  }
  fm::fmctl::Args args(positional.begin() + 2, positional.end());
  for (const auto& c : fm::fmctl::Commands()) {
    if (name == c.name) return c.run(args);
  }
  std::fprintf(stderr, "fmctl: unknown command '%s'\n%s", name.c_str(),
               usage.c_str());
  return 2;
}
