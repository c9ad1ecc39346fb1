// The shared server runner and channel factory, end to end through the real
// fm-tokenizer binary and fmctl: TLS, mTLS, and round_robin over several
// addresses surviving the loss of one.
#include <signal.h>

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"
#include "tests/tokenizer/tiny_tokenizer.h"

namespace fm::testing {
namespace {

// A throwaway PKI: a CA, a server certificate for localhost/127.0.0.1 and a
// client certificate, plus an unrelated CA and client.
struct Pki {
  std::string dir;
  bool ok = false;
};

Pki MakePki() {
  Pki pki;
  pki.dir = MakeTempDir();
  const std::string script = R"(
set -e
cd ")" + pki.dir + R"("
gen() { openssl req -x509 -newkey rsa:2048 -nodes -keyout $1.key -out $1.pem -days 1 -subj "/CN=$1" 2>/dev/null; }
sign() {
  openssl req -newkey rsa:2048 -nodes -keyout $1.key -out $1.csr -subj "/CN=$3" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > $1.ext
  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -out $1.pem -days 1 -extfile $1.ext 2>/dev/null
}
gen ca; gen otherca
sign server ca localhost
sign client ca client
sign rogue otherca rogue
)";
  pki.ok = RunCommand({"/bin/bash", "-c", script}).exit_code == 0;
  return pki;
}

int Health(const std::string& address, std::vector<std::string> extra) {
  std::vector<std::string> argv = {"fmctl", "health", "--target=" + address,
                                   "--timeout=3s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv).exit_code;
}

TEST_CASE("TLS: a verified client connects, a plaintext one cannot",
          "[server_runner]") {
  Pki pki = MakePki();
  REQUIRE(pki.ok);
  ServiceProcess p("fm-tokenizer",
                   {"--tokenizer_model=" + TinyTokenizerModel(),
                    "--tls_cert=" + pki.dir + "/server.pem",
                    "--tls_key=" + pki.dir + "/server.key"});
  REQUIRE(p.WaitForPort());
  CHECK(Health(p.address(), {"--tls_ca=" + pki.dir + "/ca.pem",
                             "--tls_server_name=localhost"}) == 0);
  CHECK(Health(p.address(), {}) != 0);  // plaintext client
  CHECK(Health(p.address(), {"--tls_ca=" + pki.dir + "/otherca.pem",
                             "--tls_server_name=localhost"}) != 0);
  CHECK_THAT(p.log(), Catch::Contains("(port " + std::to_string(p.port()) +
                                      ", TLS)"));
}

TEST_CASE("mTLS: only clients with a certificate from the CA get in",
          "[server_runner]") {
  Pki pki = MakePki();
  REQUIRE(pki.ok);
  ServiceProcess p("fm-tokenizer",
                   {"--tokenizer_model=" + TinyTokenizerModel(),
                    "--tls_cert=" + pki.dir + "/server.pem",
                    "--tls_key=" + pki.dir + "/server.key",
                    "--tls_client_ca=" + pki.dir + "/ca.pem"});
  REQUIRE(p.WaitForPort());
  const std::string ca = "--tls_ca=" + pki.dir + "/ca.pem";
  const std::string name = "--tls_server_name=localhost";
  CHECK(Health(p.address(), {ca, name, "--tls_cert=" + pki.dir + "/client.pem",
                             "--tls_key=" + pki.dir + "/client.key"}) == 0);
  CHECK(Health(p.address(), {ca, name}) != 0);  // no client certificate
  CHECK(Health(p.address(), {ca, name, "--tls_cert=" + pki.dir + "/rogue.pem",
                             "--tls_key=" + pki.dir + "/rogue.key"}) != 0);
}

TEST_CASE("TLS misconfiguration stops the service with a clear message",
          "[server_runner]") {
  ServiceProcess p("fm-tokenizer", {"--tokenizer_model=" + TinyTokenizerModel(),
                                    "--tls_cert=/nonexistent.pem",
                                    "--tls_key=/nonexistent.key"});
  REQUIRE(p.WaitExit(10000) != -1);
  CHECK_THAT(p.log(), Catch::Contains("--tls_cert=/nonexistent.pem"));
}

TEST_CASE("liveness answers while readiness waits for dependencies",
          "[server_runner]") {
  // A gateway whose stages are all unreachable: not ready, but alive.
  ServiceProcess gateway("fm-gateway", {"--tokenizer=127.0.0.1:1",
                                        "--model=127.0.0.1:1",
                                        "--sampler=127.0.0.1:1",
                                        "--health_period=100ms"});
  REQUIRE(gateway.WaitForPort());
  CHECK(Health(gateway.address(), {"--service=liveness"}) == 0);
  CHECK(Health(gateway.address(), {}) != 0);
}

TEST_CASE("a max connection age below 100ms is refused naming the flag",
          "[server_runner]") {
  ServiceProcess p("fm-tokenizer", {"--tokenizer_model=" + TinyTokenizerModel(),
                                    "--max_connection_age=10ms"});
  REQUIRE(p.WaitExit(10000) != -1);
  CHECK_THAT(p.log(), Catch::Contains("--max_connection_age=10ms"));
}

TEST_CASE("several addresses are balanced and survive one going away",
          "[server_runner]") {
  const std::string model = "--tokenizer_model=" + TinyTokenizerModel();
  ServiceProcess a("fm-tokenizer", {model});
  ServiceProcess b("fm-tokenizer", {model});
  REQUIRE(a.WaitForServing());
  REQUIRE(b.WaitForServing());
  const std::string both = "--tokenizer=" + a.address() + "," + b.address();
  CommandResult first = RunCommand({"fmctl", both, "tokenize", "cat"});
  REQUIRE(first.exit_code == 0);
  a.Signal(SIGKILL);
  // Each run is a new client; round_robin skips the dead address.
  for (int i = 0; i < 5; ++i) {
    CommandResult r = RunCommand({"fmctl", both, "tokenize", "cat"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == first.out);
  }
}

}  // namespace
}  // namespace fm::testing
