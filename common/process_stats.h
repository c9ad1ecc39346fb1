// What the kernel reports about this process's resources, for Info
// responses and metrics.
#ifndef FM_COMMON_PROCESS_STATS_H_
#define FM_COMMON_PROCESS_STATS_H_

#include <cstdint>

namespace fm {

// Resident set size in bytes (/proc/self/statm's second field times the
// page size: anonymous and file-backed pages mapped now); 0 if unreadable.
int64_t ResidentBytes();

// One reading of /proc/self/stat, /proc/self/fd and the fd limit. A value
// the kernel did not give stays -1.
struct ProcessStats {
  int64_t resident_bytes = -1;
  int64_t virtual_bytes = -1;
  int64_t threads = -1;
  int64_t open_fds = -1;
  int64_t max_fds = -1;
  double cpu_seconds = -1;         // user + system
  double start_time_seconds = -1;  // since the Unix epoch
};

ProcessStats ReadProcessStats();

}  // namespace fm

#endif  // FM_COMMON_PROCESS_STATS_H_
