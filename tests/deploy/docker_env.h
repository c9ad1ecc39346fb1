// A docker-compose project for the deployment tests: the real
// docker-compose.yml plus tests/deploy/docker-compose.test.yml, under a
// project name of its own, its gateway published on a free loopback port,
// removed (`down -v`) when the object goes. Every command is bounded.
#ifndef FM_TESTS_DEPLOY_DOCKER_ENV_H_
#define FM_TESTS_DEPLOY_DOCKER_ENV_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace fm::testing {

// Runs scripts/docker_setup.sh (installs and starts Docker, builds the base
// images) and checks that this test's user reaches the engine. "" when
// containers can run here; else why not. A failure other
// than "this machine cannot run containers" is a test failure (REQUIRE).
std::string PrepareDocker();

// PrepareDocker for a test case: true when containers can run here; else
// reports the skip and returns false, or fails the test when
// FM_REQUIRE_DEPLOY=1 (CI: a skipped deployment test would prove nothing).
bool DockerReadyOrSkipped();

// Quotes `s` for bash.
std::string ShellQuote(const std::string& s);

class ComposeProject {
 public:
  // `name`: the compose project name (containers, networks and volumes
  // carry it); images are tagged fmserve/<stage>:<image_tag>.
  ComposeProject(std::string name, std::string image_tag);
  ~ComposeProject();
  ComposeProject(const ComposeProject&) = delete;
  ComposeProject& operator=(const ComposeProject&) = delete;

  // docker-compose ARGS in the repository root, with the project's
  // environment (FM_GATEWAY_PORT, FM_HTTP_PORT, FM_METRICS_PORT,
  // FM_PROMETHEUS_PORT, FM_IMAGE_TAG).
  CommandResult Compose(const std::string& args, int timeout_ms);
  // Any shell command (docker ...), bounded.
  static CommandResult Docker(const std::string& args, int timeout_ms = 30000);

  // Ids of the running containers of `service`, sorted.
  std::vector<std::string> Containers(const std::string& service);
  // `fmctl FLAGS info` run inside `container`, parsed; a null value
  // (is_object() false) on error.
  static nlohmann::json Info(const std::string& container,
                             const std::string& flags);
  // Waits (up to `timeout_ms`) until every container of `service` is
  // healthy and there are `replicas` of them.
  bool WaitHealthy(const std::string& service, int replicas, int timeout_ms);

  // `down -v --remove-orphans`: containers, networks and volumes go.
  CommandResult Down();

  // Containers, networks and volumes labelled with the project (what `down
  // -v` must remove), one per line.
  std::string Leftovers();

  const std::string& name() const { return name_; }
  int gateway_port() const { return gateway_port_; }
  std::string gateway_address() const {
    return "127.0.0.1:" + std::to_string(gateway_port_);
  }
  // The gateway's OpenAI-compatible HTTP API, published on loopback.
  int http_port() const { return http_port_; }
  // The gateway's metrics, and Prometheus, published on loopback.
  int metrics_port() const { return metrics_port_; }
  int prometheus_port() const { return prometheus_port_; }

 private:
  std::string name_;
  std::string image_tag_;
  int gateway_port_;
  int http_port_;
  int metrics_port_;
  int prometheus_port_;
  bool down_ = false;
};

}  // namespace fm::testing

#endif  // FM_TESTS_DEPLOY_DOCKER_ENV_H_
