// What the kernel reports about this process's resources, for Info
// responses and metrics.
#ifndef FM_COMMON_PROCESS_STATS_H_
#define FM_COMMON_PROCESS_STATS_H_

#include <cstdint>

namespace fm {

// Resident set size in bytes (/proc/self/statm's second field times the
// page size: anonymous and file-backed pages mapped now); 0 if unreadable.
int64_t ResidentBytes();

}  // namespace fm

#endif  // FM_COMMON_PROCESS_STATS_H_
