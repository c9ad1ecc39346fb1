// NetnsLab: namespaces, a bridge and veth pairs through iproute2, every
// command bounded.
#include "tests/deploy/netns_lab.h"

#include <unistd.h>

#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

constexpr char kSwitch[] = "sw";
constexpr char kBridge[] = "br0";

// "" when `script` succeeds, else what it printed.
std::string Run(const std::string& script) {
  CommandResult r = RunShell(script, 20000);
  if (r.exit_code == 0) return "";
  return "`" + script + "` failed (" + std::to_string(r.exit_code) +
         "): " + r.err + r.out;
}

}  // namespace

NetnsLab::NetnsLab() : prefix_("fm" + std::to_string(::getpid())) {
  if (::geteuid() != 0) {
    why_ = "network namespaces need root";
    return;
  }
  if (RunShell("command -v ip", 5000).exit_code != 0) {
    why_ = "iproute2 (`ip`) is not installed";
    return;
  }
  const std::string sw = Namespace(kSwitch);
  why_ = Run("ip netns add " + sw);
  if (!why_.empty()) {
    why_ = "cannot create a network namespace: " + why_;
    return;
  }
  namespaces_.push_back(sw);
  why_ = Run("ip -n " + sw + " link add " + kBridge + " type bridge && ip -n " +
             sw + " link set " + kBridge + " up");
}

NetnsLab::~NetnsLab() {
  // Deleting a namespace removes its interfaces (and the veth peers).
  for (const std::string& ns : namespaces_) Run("ip netns del " + ns);
}

std::string NetnsLab::Namespace(const std::string& host) const {
  return prefix_ + "-" + host;
}

std::string NetnsLab::AddHost(const std::string& host,
                              const std::string& address) {
  if (host.size() > 8) return "host name '" + host + "' is over 8 characters";
  const std::string ns = Namespace(host), sw = Namespace(kSwitch);
  std::string err = Run("ip netns add " + ns);
  if (!err.empty()) return err;
  namespaces_.push_back(ns);
  // The switch end is named after the host ("p-HOST", at most 10 of the 15
  // characters an interface name may have); the host end is eth0.
  const std::string port = "p-" + host;
  return Run("ip -n " + sw + " link add " + port + " type veth peer name eth0 netns " + ns +
             " && ip -n " + sw + " link set " + port + " master " + kBridge +
             " up && ip -n " + ns + " addr add " + address +
             "/24 dev eth0 && ip -n " + ns + " link set eth0 up && ip -n " + ns +
             " link set lo up");
}

std::string NetnsLab::SetLink(const std::string& host, bool up) {
  return Run("ip -n " + Namespace(kSwitch) + " link set p-" + host +
             (up ? " up" : " down"));
}

std::vector<std::string> NetnsLab::In(const std::string& host,
                                      std::vector<std::string> argv) const {
  if (!argv.empty() && argv[0].find('/') == std::string::npos) {
    argv[0] = BinDir() + "/" + argv[0];
  }
  std::vector<std::string> out = {"/usr/bin/env", "ip", "netns", "exec",
                                  Namespace(host)};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace fm::testing
