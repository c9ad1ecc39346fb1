// The Python client (clients/python, importable as `fmserve`) against the
// real four services on loopback: its unittest suite, which compares every
// call with fmctl's answer to the same request, run with Debian's python3
// and the stubs the build generated.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "tests/gateway/pipeline.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

// A plain-text chat template: tok512 has no control tokens.
constexpr char kTemplate[] =
    "{% for m in messages %}{{ m.role + ': ' + m.content + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

TEST_CASE("the Python client's suite passes against the real stack",
          "[python]") {
  const std::string python_path = BinDir() + "/../python";
  // The build generates them whenever it can (grpc_python_plugin comes
  // with protobuf-compiler-grpc, which the C++ stubs need too).
  INFO("no generated Python stubs in " << python_path);
  REQUIRE(std::ifstream(python_path + "/fmserve/_proto/fm/v1/gateway_pb2.py"));
  const std::string dir = MakeTempDir();
  std::ofstream(dir + "/chat.jinja") << kTemplate;
  Pipeline p({},
             HermeticModels{ModelFile("tok512.model"),
                            ModelFile("stories260K.bin"),
                            {"--chat_template_file=" + dir + "/chat.jinja"}});
  REQUIRE_PIPELINE(p);
  // A second gateway over the same services, with bearer tokens.
  const std::string token = "python-client-token-0123456789";
  std::ofstream(dir + "/tokens") << token << "\n";
  ServiceProcess guarded(
      "fm-gateway",
      {"--tokenizer=" + p.tokenizer->address(), "--model=" + p.model->address(),
       "--sampler=" + p.sampler->address(), "--health_period=100ms",
       "--auth_tokens_file=" + dir + "/tokens"});
  INFO(guarded.log());
  REQUIRE(guarded.WaitForServing(15000));

  CommandResult r = RunCommand(
      {"/usr/bin/env", "PYTHONPATH=" + python_path,
       "FM_GATEWAY=" + p.gateway->address(),
       "FM_SAMPLER=" + p.sampler->address(),
       "FM_TOKENIZER=" + p.tokenizer->address(), "FM_BIN_DIR=" + BinDir(),
       "FM_GATEWAY_AUTH=" + guarded.address(), "FM_TOKEN=" + token,
       // Debian's interpreter, which has python3-grpcio (not whichever
       // python3 is first on PATH).
       "/usr/bin/python3", "-m", "unittest", "discover", "-s",
       SourceDir() + "/clients/python/tests", "-v"},
      "", 300000);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // Every test ran: none skipped for a missing address.
  CHECK(absl::StrContains(r.err, "\nOK\n"));
  CHECK(!absl::StrContains(r.err, "skipped"));
  const size_t ran = r.err.find("\nRan ");
  REQUIRE(ran != std::string::npos);
  // The suite had 21 tests when this was written; fewer means some were
  // lost (a file not found by discovery, a class renamed away).
  CHECK(std::stoi(r.err.substr(ran + 5)) >= 21);
}

}  // namespace
}  // namespace fm::testing
