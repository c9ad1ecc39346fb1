// Child processes for integration tests: start a real service binary on a
// free loopback port and stop it; run a command and capture its output.
// Every wait is bounded.
#ifndef FM_TESTS_SUPPORT_SUBPROCESS_H_
#define FM_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace fm::testing {

// A child process: argv[0] is resolved in BinDir() when it has no '/';
// stdout and stderr go to one log file. It dies with the test (a crashed
// test leaves nothing behind) and is terminated (SIGTERM, then SIGKILL
// after 5 s) when destroyed.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `sig`; with SIGTERM/SIGKILL also reaps the child (bounded wait)
  // and returns its exit status as from waitpid, or -1.
  int Signal(int sig);
  // Exit status once the process has exited by itself (bounded wait), or -1.
  int WaitExit(int timeout_ms);
  // False once the process has exited (it is reaped then).
  bool Running();
  // What the process wrote to stdout and stderr so far.
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::string log_file_;
};

// A service binary started with --listen=127.0.0.1:0 --port_file=...;
// terminated (SIGTERM, then SIGKILL after 5 s) when destroyed.
class ServiceProcess {
 public:
  // `binary` is a file name in BinDir(); `args` are extra flags.
  ServiceProcess(const std::string& binary, std::vector<std::string> args);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Waits up to `timeout_ms` for the port file; false when the process
  // exited or the time ran out (see log()).
  bool WaitForPort(int timeout_ms = 10000);
  // Waits up to `timeout_ms` until grpc.health.v1 Check says SERVING.
  bool WaitForServing(int timeout_ms = 10000);

  int port() const { return port_; }
  std::string address() const;
  pid_t pid() const { return process_->pid(); }
  // See ChildProcess.
  int Signal(int sig) { return process_->Signal(sig); }
  int WaitExit(int timeout_ms) { return process_->WaitExit(timeout_ms); }
  std::string log() const { return process_->log(); }

 private:
  int port_ = 0;
  std::string port_file_;
  std::unique_ptr<ChildProcess> process_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by the time limit or a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs `argv` (argv[0] resolved in BinDir() when it has no '/'), feeding
// `input` on stdin; killed after `timeout_ms` (with its process group).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& input = "",
                         int timeout_ms = 30000);

// RunCommand of `bash -c script` (killed with everything it started after
// `timeout_ms`).
CommandResult RunShell(const std::string& script, int timeout_ms = 30000);

// A TCP port on 127.0.0.1 that was free a moment ago (for servers that
// cannot be told port 0, such as a published container port); 0 on error.
int FreeLoopbackPort();

}  // namespace fm::testing

#endif  // FM_TESTS_SUPPORT_SUBPROCESS_H_
