// The KV cache: KvSequence holds the keys and values of one sequence, and
// KvCache a set of them by id (one set per session) with fork/drop/truncate.
#ifndef FM_SERVICES_MODEL_KV_CACHE_H_
#define FM_SERVICES_MODEL_KV_CACHE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/model/llama_config.h"

namespace fm::model {

// How keys and values are stored: half precision (the default: half the
// memory and bandwidth of long contexts) or F32 (exact).
enum class KvDType { kF16, kF32 };

// "f16" / "f32".
const char* KvDTypeName(KvDType dtype);
// Bytes of one stored key or value element.
inline int32_t KvElementBytes(KvDType dtype) {
  return dtype == KvDType::kF16 ? 2 : 4;
}

// Keys and values of one sequence: llama2.c's key_cache / value_cache, but
// one buffer per layer, each (capacity, kv_dim) of `dtype`, grown on demand
// (doubling, at most seq_len) so that many sequences do not preallocate the
// full context. Not thread-safe; owned by a KvCache or by the caller.
class KvSequence {
 public:
  KvSequence(int32_t id, int32_t n_layers, int32_t kv_dim, int32_t seq_len,
             KvDType dtype = KvDType::kF32);

  int32_t id() const { return id_; }
  // Positions filled: the next token is appended at position size().
  int32_t size() const { return size_; }
  // The most positions this sequence can hold (the model's seq_len).
  int32_t max_size() const { return seq_len_; }
  int32_t n_layers() const { return n_layers_; }
  int32_t kv_dim() const { return kv_dim_; }
  KvDType dtype() const { return dtype_; }
  // Bytes currently allocated for keys and values.
  uint64_t allocated_bytes() const;

  // Drops positions [n, size()). OUT_OF_RANGE if n < 0 or n > size().
  absl::Status Truncate(int32_t n);
  void Clear() { size_ = 0; }

  // A new sequence with id `new_id` holding a copy of positions [0, n).
  // OUT_OF_RANGE if n < 0 or n > size().
  absl::StatusOr<std::unique_ptr<KvSequence>> Fork(int32_t new_id,
                                                   int32_t n) const;

  // --- For the forward pass (compute thread only). ---
  // Makes room for positions [0, n); n <= seq_len.
  void Reserve(int32_t n);
  // Stores the (kv_dim) key and value rows of position pos in layer l,
  // converted to dtype(); pos < capacity.
  void Store(int32_t l, int32_t pos, const float* key, const float* value);
  // The (kv_dim) rows of position pos in layer l, and all later positions
  // after them (kv_dim apart): F32 for kF32, IEEE half for kF16.
  const float* key_f32(int32_t l, int32_t pos) const {
    return reinterpret_cast<const float*>(Row(key_cache_[l], pos));
  }
  const float* value_f32(int32_t l, int32_t pos) const {
    return reinterpret_cast<const float*>(Row(value_cache_[l], pos));
  }
  const uint16_t* key_f16(int32_t l, int32_t pos) const {
    return reinterpret_cast<const uint16_t*>(Row(key_cache_[l], pos));
  }
  const uint16_t* value_f16(int32_t l, int32_t pos) const {
    return reinterpret_cast<const uint16_t*>(Row(value_cache_[l], pos));
  }
  // Marks positions [0, n) as filled (after a successful forward).
  void SetSize(int32_t n) { size_ = n; }

 private:
  // Element storage: 4-byte words, so F32 rows are aligned for floats.
  using Buffer = std::vector<uint32_t>;
  const uint8_t* Row(const Buffer& b, int32_t pos) const {
    return reinterpret_cast<const uint8_t*>(b.data()) +
           static_cast<int64_t>(pos) * row_bytes_;
  }
  uint8_t* Row(Buffer& b, int32_t pos) {
    return reinterpret_cast<uint8_t*>(b.data()) +
           static_cast<int64_t>(pos) * row_bytes_;
  }

  int32_t id_;
  int32_t n_layers_;
  int32_t kv_dim_;
  int32_t seq_len_;
  KvDType dtype_;
  int64_t row_bytes_;  // kv_dim * KvElementBytes(dtype)
  int32_t size_ = 0;
  int32_t capacity_ = 0;
  std::vector<Buffer> key_cache_;    // n_layers x (capacity, kv_dim)
  std::vector<Buffer> value_cache_;  // n_layers x (capacity, kv_dim)
};

// The sequences of one session, by id. Not thread-safe.
class KvCache {
 public:
  // max_sequences <= 0 means unlimited.
  KvCache(const LlamaConfig& config, int32_t max_sequences,
          KvDType dtype = KvDType::kF32);

  // A new empty sequence. ALREADY_EXISTS for a used id, RESOURCE_EXHAUSTED
  // beyond max_sequences. The pointer stays valid until Drop/destruction.
  absl::StatusOr<KvSequence*> Create(int32_t id);
  // A new sequence `new_id` copying the first n positions of `src_id`
  // (n < 0: all of them). NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED,
  // OUT_OF_RANGE as appropriate.
  absl::StatusOr<KvSequence*> Fork(int32_t src_id, int32_t new_id,
                                   int32_t n = -1);
  // NOT_FOUND for an unknown id.
  absl::Status Drop(int32_t id);
  absl::Status Truncate(int32_t id, int32_t n);
  // nullptr for an unknown id.
  KvSequence* Find(int32_t id);

  int32_t num_sequences() const {
    return static_cast<int32_t>(sequences_.size());
  }
  uint64_t allocated_bytes() const;
  std::vector<int32_t> ids() const;

 private:
  absl::Status CheckNewId(int32_t id) const;

  int32_t n_layers_;
  int32_t kv_dim_;
  int32_t seq_len_;
  int32_t max_sequences_;
  KvDType dtype_;
  std::map<int32_t, std::unique_ptr<KvSequence>> sequences_;
};

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_KV_CACHE_H_
