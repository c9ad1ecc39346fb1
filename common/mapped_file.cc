// MappedFile: open + fstat + mmap with every failure reported as a Status.
// The file descriptor is closed right after mapping; the mapping stays valid.
#include "common/mapped_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fm {

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(
    absl::string_view path) {
  const std::string p(path);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg =
        absl::StrCat("cannot open model file '", p, "': ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg)
                         : absl::PermissionDeniedError(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("model file '", p, "' is not a regular file"));
  }
  if (st.st_size <= 0) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat("model file '", p, "' is empty"));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (addr == MAP_FAILED) {
    return absl::InternalError(absl::StrCat(
        "mmap of '", p, "' (", size, " bytes) failed: ", std::strerror(err)));
  }
  return std::unique_ptr<MappedFile>(
      new MappedFile(static_cast<const uint8_t*>(addr), size));
}

void MappedFile::DropPages(const void* begin, uint64_t bytes) const {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t lo = reinterpret_cast<uintptr_t>(begin);
  const uintptr_t first = (lo + page - 1) / page * page;
  const uintptr_t last = (lo + bytes) / page * page;
  const uintptr_t map_begin = reinterpret_cast<uintptr_t>(data_);
  if (first >= last || first < map_begin || last > map_begin + size_) return;
  // Advice only: a failure leaves the pages resident, nothing else.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) {
    ::munmap(const_cast<uint8_t*>(data_), size_);
  }
}

}  // namespace fm
