// Hosts of their own on one machine, for the multi-host tests: each host is
// a network namespace with loopback and one interface (10.77.0.N/24) on a
// bridge that lives in a switch namespace of its own, so nothing is added
// to the machine's own network. A host's link can be cut at the switch (a
// silent partition: no reset reaches either side) and restored. Everything
// is removed when the lab goes. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
#ifndef FM_TESTS_DEPLOY_NETNS_LAB_H_
#define FM_TESTS_DEPLOY_NETNS_LAB_H_

#include <string>
#include <vector>

namespace fm::testing {

class NetnsLab {
 public:
  // Creates the switch. ok() is false, and why() says why, where network
  // namespaces cannot be made here.
  NetnsLab();
  ~NetnsLab();
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }

  // A host named `host` (at most 8 characters) with address `address` on
  // the switch; "" or the error.
  std::string AddHost(const std::string& host, const std::string& address);
  // Takes the host's switch port down (partition) or up again; "" or the
  // error.
  std::string SetLink(const std::string& host, bool up);
  // `argv` run inside the host's namespace (argv[0] resolved in BinDir()
  // when it has no '/').
  std::vector<std::string> In(const std::string& host,
                              std::vector<std::string> argv) const;

 private:
  std::string Namespace(const std::string& host) const;

  std::string prefix_;  // unique per test process: "fm<pid>"
  std::string why_;
  std::vector<std::string> namespaces_;
};

}  // namespace fm::testing

#endif  // FM_TESTS_DEPLOY_NETNS_LAB_H_
