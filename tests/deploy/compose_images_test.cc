// The deployment's images, built as a user builds them (`docker-compose
// build`, the classic builder, no registry), before the deployment test
// runs them. A test of its own, beside the others rather than alone: the
// build takes minutes of a CI run, and most of them are package downloads
// and a compiler that leave room for the rest of the suite, while the
// deployment test (deploy_compose_test, which needs these images) runs
// alone because its timing matters. It builds again there, from the layer
// cache, in seconds. Skipped where this machine cannot run containers;
// FM_REQUIRE_DEPLOY=1 (set by CI) turns that into a failure.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/deploy/docker_env.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

constexpr int kMinute = 60 * 1000;

TEST_CASE("docker-compose: the images build", "[deploy]") {
  if (!DockerReadyOrSkipped()) return;
  ComposeProject project("fmimages" + std::to_string(::getpid()), "test");
  CommandResult build = project.Compose("build", 25 * kMinute);
  const std::string log = build.out + build.err;
  INFO("docker-compose build: "
       << (log.size() <= 4000 ? log : log.substr(log.size() - 4000)));
  REQUIRE(build.exit_code == 0);
}

}  // namespace
}  // namespace fm::testing
