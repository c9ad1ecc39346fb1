// fmctl check-constraint: a text against a constraint through the
// gateway's CheckConstraint; the constraint flags are shared with
// `generate` (ConstraintFromFlags).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "services/fmctl/fmctl.h"

ABSL_DECLARE_FLAG(std::string, gateway);
ABSL_DECLARE_FLAG(std::string, json_schema);
ABSL_DECLARE_FLAG(std::string, regex);
ABSL_DECLARE_FLAG(std::string, grammar);
ABSL_DECLARE_FLAG(std::optional<int>, max_whitespace);
ABSL_DECLARE_FLAG(std::string, sampler_route);

namespace fm::fmctl {
namespace {

absl::StatusOr<std::string> ReadFileArg(const std::string& flag,
                                        const std::string& path) {
  if (path == "-") return TextArg(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": cannot open the file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::optional<fm::v1::Constraint>> ConstraintFromFlags() {
  fm::v1::Constraint c;
  int kinds = 0;
  if (const std::string f = absl::GetFlag(FLAGS_json_schema); !f.empty()) {
    auto text = ReadFileArg("json-schema", f);
    if (!text.ok()) return text.status();
    c.set_json_schema(*text);
    ++kinds;
  }
  if (const std::string re = absl::GetFlag(FLAGS_regex); !re.empty()) {
    c.set_regex(re);
    ++kinds;
  }
  if (const std::string f = absl::GetFlag(FLAGS_grammar); !f.empty()) {
    auto text = ReadFileArg("grammar", f);
    if (!text.ok()) return text.status();
    c.set_grammar(*text);
    ++kinds;
  }
  if (!ChoiceArgs().empty()) {
    for (const std::string& s : ChoiceArgs()) {
      c.mutable_choice()->add_choices(s);
    }
    ++kinds;
  }
  if (kinds > 1) {
    return absl::InvalidArgumentError(
        "give one of --json-schema, --regex, --grammar, --choice");
  }
  if (const std::optional<int> ws = absl::GetFlag(FLAGS_max_whitespace)) {
    c.set_max_whitespace(*ws);
  }
  if (kinds == 0) return std::nullopt;
  return c;
}

int RunCheckConstraint(const Args& args) {
  if (args.size() != 1) return Usage("check-constraint");
  auto constraint = ConstraintFromFlags();
  if (!constraint.ok() || !constraint->has_value()) {
    std::fprintf(stderr, "fmctl: %s\n",
                 constraint.ok() ? "check-constraint needs a constraint flag"
                                 : constraint.status().ToString().c_str());
    return 2;
  }
  fm::v1::GatewayCheckConstraintRequest request;
  *request.mutable_constraint() = **constraint;
  request.set_text(TextArg(args[0]));
  request.set_sampler_route(absl::GetFlag(FLAGS_sampler_route));
  auto channel =
      ChannelFor("gateway", absl::GetFlag(FLAGS_gateway), "FM_GATEWAY");
  if (!channel.ok()) {
    Fail("check-constraint", channel.status());
    return 2;
  }
  auto stub = fm::v1::GatewayService::NewStub(*channel);
  auto ctx = NewGatewayContext();
  fm::v1::ConstraintCheck check;
  grpc::Status status = stub->CheckConstraint(ctx.get(), request, &check);
  if (!status.ok()) {
    Fail("gateway", status);
    return 2;
  }
  const nlohmann::json out = {{"accepted", check.accepted()},
                              {"complete", check.complete()},
                              {"rejected_at", check.rejected_at()},
                              {"tokens", check.tokens()},
                              {"compile_ms", check.compile_ms()},
                              {"mask_us",
                               {{"p50", check.mask_us().p50()},
                                {"p99", check.mask_us().p99()},
                                {"max", check.mask_us().max()}}}};
  std::printf("%s\n", out.dump().c_str());
  return check.accepted() ? 0 : 1;
}

}  // namespace fm::fmctl
