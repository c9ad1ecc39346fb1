#include "common/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>

namespace fm {
namespace {

int64_t CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

// Seconds since the epoch at which the system booted (/proc/stat btime).
double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double btime = -1;
      in >> btime;
      return btime;
    }
    in.ignore(1 << 16, '\n');
  }
  return -1;
}

}  // namespace

int64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size = 0, resident = 0;
  const int read = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (read != 2 || resident < 0) return 0;
  return static_cast<int64_t>(resident) * ::sysconf(_SC_PAGESIZE);
}

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  stats.open_fds = CountOpenFds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    stats.max_fds = static_cast<int64_t>(limit.rlim_cur);
  }
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return stats;
  // The command name (field 2) is in parentheses and may hold spaces or
  // parentheses itself: the fields that follow start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return stats;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double utime = -1, stime = -1;
  // The kernel writes numbers here; should a field ever not be one, the
  // readings so far stand and the rest stay unknown.
  try {
    for (int index = 3; fields >> field; ++index) {
      switch (index) {
        case 14:
          utime = std::stod(field);
          break;
        case 15:
          stime = std::stod(field);
          break;
        case 20:
          stats.threads = std::stoll(field);
          break;
        case 22: {
          const double boot = BootTimeSeconds();
          if (boot >= 0)
            stats.start_time_seconds = boot + std::stod(field) / ticks;
          break;
        }
        case 23:
          stats.virtual_bytes = std::stoll(field);
          break;
        case 24:
          stats.resident_bytes = std::stoll(field) * ::sysconf(_SC_PAGESIZE);
          break;
        default:
          break;
      }
      if (index == 24) break;
    }
  } catch (const std::exception&) {
  }
  if (utime >= 0 && stime >= 0) stats.cpu_seconds = (utime + stime) / ticks;
  return stats;
}

}  // namespace fm
