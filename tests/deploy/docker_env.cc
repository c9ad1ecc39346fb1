// ComposeProject: docker-compose and docker commands for the deployment
// tests, each bounded by a timeout.
#include "tests/deploy/docker_env.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/support/json_field.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

// scripts/docker_setup.sh's status for "cannot run containers here".
constexpr int kCannotRunContainers = 77;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.emplace_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string PrepareDocker() {
  // Installing packages and building two base images: minutes, not more.
  CommandResult r = RunShell(
      "cd " + ShellQuote(SourceDir()) + " && bash scripts/docker_setup.sh",
      15 * 60 * 1000);
  if (r.exit_code == kCannotRunContainers) {
    return "containers cannot run on this machine: " + r.err;
  }
  INFO("docker_setup.sh: " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // The setup may have used sudo; the test talks to the engine itself.
  CommandResult info = RunShell("docker info", 30000);
  if (info.exit_code != 0) {
    return "this user cannot reach the Docker engine (root, or a member of "
           "group docker, can): " + info.err;
  }
  return "";
}

bool DockerReadyOrSkipped() {
  const std::string why = PrepareDocker();
  if (why.empty()) return true;
  const char* required = std::getenv("FM_REQUIRE_DEPLOY");
  if (required != nullptr && std::string(required) == "1") FAIL(why);
  ReportSkip(why);
  return false;
}

ComposeProject::ComposeProject(std::string name, std::string image_tag)
    : name_(std::move(name)),
      image_tag_(std::move(image_tag)),
      gateway_port_(FreeLoopbackPort()),
      http_port_(FreeLoopbackPort()),
      metrics_port_(FreeLoopbackPort()),
      prometheus_port_(FreeLoopbackPort()) {}

ComposeProject::~ComposeProject() {
  if (!down_) Down();
}

CommandResult ComposeProject::Compose(const std::string& args,
                                      int timeout_ms) {
  const std::string script =
      "cd " + ShellQuote(SourceDir()) +
      " && FM_GATEWAY_PORT=" + std::to_string(gateway_port_) +
      " FM_HTTP_PORT=" + std::to_string(http_port_) +
      " FM_METRICS_PORT=" + std::to_string(metrics_port_) +
      " FM_PROMETHEUS_PORT=" + std::to_string(prometheus_port_) +
      " FM_IMAGE_TAG=" + ShellQuote(image_tag_) +
      " docker-compose --ansi never -p " + ShellQuote(name_) +
      " -f docker-compose.yml -f tests/deploy/docker-compose.test.yml " + args;
  return RunShell(script, timeout_ms);
}

CommandResult ComposeProject::Docker(const std::string& args, int timeout_ms) {
  return RunShell("docker " + args, timeout_ms);
}

CommandResult ComposeProject::Down() {
  down_ = true;
  return Compose("down -v --remove-orphans --timeout 5", 120 * 1000);
}

std::vector<std::string> ComposeProject::Containers(
    const std::string& service) {
  CommandResult r = Docker(
      "ps -q --no-trunc --filter label=com.docker.compose.project=" + name_ +
      " --filter label=com.docker.compose.service=" + service);
  return Lines(r.out);
}

nlohmann::json ComposeProject::Info(const std::string& container,
                                    const std::string& flags) {
  CommandResult r =
      Docker("exec " + container + " fmctl --timeout=5s " + flags + " info");
  if (r.exit_code != 0) return nullptr;
  return ParseJson(r.out);
}

bool ComposeProject::WaitHealthy(const std::string& service, int replicas,
                                 int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::vector<std::string> ids = Containers(service);
    if (static_cast<int>(ids.size()) == replicas) {
      int healthy = 0;
      for (const std::string& id : ids) {
        CommandResult r =
            Docker("inspect -f '{{.State.Health.Status}}' " + id);
        if (absl::StripAsciiWhitespace(r.out) == "healthy") ++healthy;
      }
      if (healthy == replicas) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

std::string ComposeProject::Leftovers() {
  const std::string label = " --filter label=com.docker.compose.project=" + name_;
  std::string out;
  out += Docker("ps -aq" + label).out;
  out += Docker("network ls -q" + label).out;
  out += Docker("volume ls -q" + label).out;
  return out;
}

}  // namespace fm::testing
