// fork/exec helpers with bounded waits for integration tests.
#include "tests/support/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/channel_factory.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

std::string ResolveBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  return BinDir() + "/" + name;
}

std::vector<char*> CArgs(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (std::string& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// waitpid with a deadline; returns the status or -1.
int WaitWithTimeout(pid_t pid, int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  log_file_ = MakeTempDir() + "/log";
  argv[0] = ResolveBinary(argv[0]);
  pid_ = ::fork();
  if (pid_ == 0) {
    // Die with the test: a crashed or killed test leaves no server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    // The child must not inherit a blocked-signal mask from the test.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> c = CArgs(argv);
    ::execv(c[0], c.data());
    std::fprintf(stderr, "exec %s failed\n", c[0]);
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && exit_status_ == -1) Signal(SIGTERM);
}

int ChildProcess::Signal(int sig) {
  if (pid_ <= 0 || exit_status_ != -1) return exit_status_;
  ::kill(pid_, sig);
  if (sig != SIGTERM && sig != SIGKILL) return -1;
  int status = WaitWithTimeout(pid_, 5000);
  if (status == -1) {
    ::kill(pid_, SIGKILL);
    status = WaitWithTimeout(pid_, 5000);
  }
  exit_status_ = status;
  return status;
}

int ChildProcess::WaitExit(int timeout_ms) {
  if (exit_status_ != -1) return exit_status_;
  exit_status_ = WaitWithTimeout(pid_, timeout_ms);
  return exit_status_;
}

bool ChildProcess::Running() {
  if (exit_status_ != -1 || pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_status_ = status;
    return false;
  }
  return true;
}

std::string ChildProcess::log() const { return ReadAll(log_file_); }

ServiceProcess::ServiceProcess(const std::string& binary,
                               std::vector<std::string> args) {
  port_file_ = MakeTempDir() + "/port";
  std::vector<std::string> argv = {binary, "--listen=127.0.0.1:0",
                                   "--port_file=" + port_file_};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<ChildProcess>(std::move(argv));
}

ServiceProcess::~ServiceProcess() = default;

bool ServiceProcess::WaitForPort(int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file_);
    int port = 0;
    if (in >> port && port > 0) {
      port_ = port;
      return true;
    }
    if (!process_->Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool ServiceProcess::WaitForServing(int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  if (port_ == 0 && !WaitForPort(timeout_ms)) return false;
  auto channel = MakeChannel(address());
  if (!channel.ok()) return false;
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  const auto deadline = start + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    if (stub->Check(&ctx, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string ServiceProcess::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}


CommandResult RunCommand(const std::vector<std::string>& argv_in,
                         const std::string& input, int timeout_ms) {
  CommandResult result;
  const std::string dir = MakeTempDir();
  const std::string in_file = dir + "/in", out_file = dir + "/out",
                    err_file = dir + "/err";
  {
    std::ofstream in(in_file, std::ios::binary);
    in << input;
  }
  std::vector<std::string> argv = argv_in;
  argv[0] = ResolveBinary(argv[0]);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Its own process group, so a time-out ends whatever it started too.
    ::setpgid(0, 0);
    const int in = ::open(in_file.c_str(), O_RDONLY);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    std::vector<char*> c = CArgs(argv);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
  int status = WaitWithTimeout(pid, timeout_ms);
  if (status == -1) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    WaitWithTimeout(pid, 5000);
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.out = ReadAll(out_file);
  result.err = ReadAll(err_file);
  return result;
}

CommandResult RunShell(const std::string& script, int timeout_ms) {
  return RunCommand({"/bin/bash", "-c", script}, "", timeout_ms);
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace fm::testing
