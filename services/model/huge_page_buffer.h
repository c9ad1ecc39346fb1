// HugePageBuffer: zero-filled anonymous memory for the large read-mostly
// data the kernels stream each decode step (the interleaved weights),
// asked to be backed by transparent huge pages. Why: the hardware
// prefetcher stops at every 4 KiB page boundary and a 4 KiB page covers
// only 64 cache lines, so a 75 MB stream of 4 KiB pages restarts the
// prefetcher and walks the page table ~18,000 times per token; 2 MiB pages
// remove both (measured with bench/model/kernel_bench). Where the kernel
// has THP off, this is plain anonymous memory.
#ifndef FM_SERVICES_MODEL_HUGE_PAGE_BUFFER_H_
#define FM_SERVICES_MODEL_HUGE_PAGE_BUFFER_H_

#include <cstddef>
#include <cstdint>

namespace fm::model {

class HugePageBuffer {
 public:
  HugePageBuffer() = default;
  // `bytes` zero bytes, 2 MiB aligned; throws std::bad_alloc when the
  // mapping fails (as operator new would).
  explicit HugePageBuffer(size_t bytes);
  ~HugePageBuffer();
  HugePageBuffer(HugePageBuffer&& other) noexcept;
  HugePageBuffer& operator=(HugePageBuffer&& other) noexcept;
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;    // as asked
  size_t mapped_ = 0;  // rounded up to whole huge pages
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_HUGE_PAGE_BUFFER_H_
