// ByteReader: a cursor over untrusted bytes (a mapped model file) whose
// every read is bounds-checked and fails with DATA_LOSS naming the field.
// Used by every parser of model and tokenizer files.
#ifndef FM_COMMON_BYTE_READER_H_
#define FM_COMMON_BYTE_READER_H_

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fm {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }

  // Reads a little-endian POD of type T; DATA_LOSS "truncated at <field>"
  // when fewer than sizeof(T) bytes remain.
  template <typename T>
  absl::Status Read(absl::string_view field, T* out) {
    if (remaining() < sizeof(T)) return Truncated(field, sizeof(T));
    std::memcpy(out, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return absl::OkStatus();
  }

  // Returns a view of the next n bytes and advances past them.
  absl::Status ReadBytes(absl::string_view field, uint64_t n,
                         const uint8_t** out) {
    if (remaining() < n) return Truncated(field, n);
    *out = data_ + offset_;
    offset_ += n;
    return absl::OkStatus();
  }

  absl::Status Skip(absl::string_view field, uint64_t n) {
    const uint8_t* ignored;
    return ReadBytes(field, n, &ignored);
  }

  absl::Status Truncated(absl::string_view field, uint64_t need) const {
    return absl::DataLossError(absl::StrCat(
        "file truncated at ", field, ": needs ", need, " bytes at offset ",
        offset_, ", file has ", size_, " bytes"));
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t offset_ = 0;
};

// a * b, or false on 64-bit overflow.
inline bool MulOverflow(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
inline bool AddOverflow(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

}  // namespace fm

#endif  // FM_COMMON_BYTE_READER_H_
