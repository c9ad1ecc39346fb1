// MappedFile: a read-only, move-only RAII memory map of a whole file.
// Model weights are used in place from this mapping (F32 and Q8_0); the
// tokenizer reads a GGUF vocabulary through one.
#ifndef FM_COMMON_MAPPED_FILE_H_
#define FM_COMMON_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fm {

class MappedFile {
 public:
  // Maps `path` read-only (MAP_PRIVATE). NOT_FOUND if it cannot be opened,
  // DATA_LOSS if it is empty, INTERNAL if mmap fails.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(
      absl::string_view path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The mapped bytes; never null for an opened file.
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

  // Lets the pages wholly inside [begin, begin + bytes) (a range of the
  // mapping) leave this process's resident set (MADV_DONTNEED): for bytes
  // copied elsewhere, such as weights re-laid at load. Reading them again
  // is still valid: they come back from the page cache.
  void DropPages(const void* begin, uint64_t bytes) const;

 private:
  MappedFile(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  const uint8_t* data_;
  uint64_t size_;
};

}  // namespace fm

#endif  // FM_COMMON_MAPPED_FILE_H_
