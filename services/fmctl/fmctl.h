// fmctl: the command-line client. Each subcommand lives in its own file and
// registers one Command here; main.cc parses flags and dispatches.
#ifndef FM_SERVICES_FMCTL_FMCTL_H_
#define FM_SERVICES_FMCTL_FMCTL_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fm/v1/gateway.pb.h"

namespace fm::fmctl {

// Arguments after the subcommand name (flags already removed).
using Args = std::vector<std::string>;

// Exit codes: 0 ok, 1 the call failed, 2 usage error.
struct Command {
  const char* name;
  const char* usage;
  int (*run)(const Args& args);
};

// All subcommands, in the order `fmctl help` lists them.
const std::vector<Command>& Commands();

// A channel to the address in flag `--<flag_name>` (or `fallback_env` when
// the flag is empty), with the TLS flags applied.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFor(
    const std::string& flag_name, const std::string& address,
    const char* fallback_env = nullptr);

// A client context carrying the --timeout deadline.
std::unique_ptr<grpc::ClientContext> NewContext();
// NewContext plus the bearer token (--token or $FM_TOKEN), which only the
// gateway checks: it is not sent to the internal services.
std::unique_ptr<grpc::ClientContext> NewGatewayContext();

// Prints "fmctl: <what>: <status>" to stderr and returns 1.
int Fail(const std::string& what, const grpc::Status& status);
int Fail(const std::string& what, const absl::Status& status);
// Prints the usage of one command to stderr and returns 2.
int Usage(const char* command);

// Prints `message` as indented JSON with proto field names, every field
// shown.
void PrintProtoJson(const google::protobuf::Message& message);

// Calls `Info` on `stub` with `ctx` and prints the answer as JSON;
// `service` names the peer in an error. Returns main()'s exit code.
template <typename Stub, typename InfoMessage>
int PrintInfo(Stub& stub, std::unique_ptr<grpc::ClientContext> ctx,
              const char* service) {
  InfoMessage info;
  grpc::Status status = stub.Info(ctx.get(), {}, &info);
  if (!status.ok()) return Fail(service, status);
  PrintProtoJson(info);
  return 0;
}

// `--count`'s upper bound: draws are keyed by an int32 step.
inline constexpr int kMaxSampleCount = 100'000'000;

// INVALID_ARGUMENT naming the first numeric flag outside its documented
// range (numeric_flags.cc); main() checks it before running any command.
absl::Status CheckNumericFlags();

// Reads TEXT: "-" means all of stdin.
std::string TextArg(const std::string& arg);

// Subcommand entry points (one file each).
int RunTokenize(const Args& args);
int RunDetokenize(const Args& args);
int RunHealth(const Args& args);
int RunModelInfo();
int RunSamplerInfo();
int RunTokenizerInfo();
int RunForward(const Args& args);
int RunStages(const Args& args);
int RunProfiles(const Args& args);
int RunSample(const Args& args);
int RunGenerate(const Args& args, const std::vector<std::string>& stops);
int RunGenerateCommand(const Args& args);
int RunCheckConstraint(const Args& args);
// The constraint the --json-schema, --regex, --grammar or --choice flags
// give (nullopt: none); INVALID_ARGUMENT for several or an unreadable file.
absl::StatusOr<std::optional<fm::v1::Constraint>> ConstraintFromFlags();
int RunChat(const Args& args, const std::vector<std::string>& stops);
int RunChatCommand(const Args& args);
int RunRenderChat(const Args& args);
int RunScore(const Args& args);
int RunRoutes(const Args& args);
int RunGatewayInfo();
int RunInfo(const Args& args);
// Every --stop (and every --choice) given on the command line, in order.
std::vector<std::string>& StopArgs();
std::vector<std::string>& ChoiceArgs();

}  // namespace fm::fmctl

#endif  // FM_SERVICES_FMCTL_FMCTL_H_
