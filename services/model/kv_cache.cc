// KV cache storage: lazy growth, fork as a prefix copy, truncate as a size
// change (the stale entries past size() are overwritten by the next append).
#include "services/model/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "services/model/kv_attention.h"

namespace fm::model {
namespace {

// Smallest allocation, in positions, once a sequence holds anything.
constexpr int32_t kMinCapacity = 16;

}  // namespace

const char* KvDTypeName(KvDType dtype) {
  return dtype == KvDType::kF16 ? "f16" : "f32";
}

KvSequence::KvSequence(int32_t id, int32_t n_layers, int32_t kv_dim,
                       int32_t seq_len, KvDType dtype)
    : id_(id),
      n_layers_(n_layers),
      kv_dim_(kv_dim),
      seq_len_(seq_len),
      dtype_(dtype),
      row_bytes_(static_cast<int64_t>(kv_dim) * KvElementBytes(dtype)),
      key_cache_(n_layers),
      value_cache_(n_layers) {}

uint64_t KvSequence::allocated_bytes() const {
  return 2ull * n_layers_ * static_cast<uint64_t>(capacity_) * row_bytes_;
}

void KvSequence::Store(int32_t l, int32_t pos, const float* key,
                       const float* value) {
  if (dtype_ == KvDType::kF32) {
    std::memcpy(Row(key_cache_[l], pos), key, row_bytes_);
    std::memcpy(Row(value_cache_[l], pos), value, row_bytes_);
    return;
  }
  StoreF16(key, reinterpret_cast<uint16_t*>(Row(key_cache_[l], pos)), kv_dim_);
  StoreF16(value, reinterpret_cast<uint16_t*>(Row(value_cache_[l], pos)),
           kv_dim_);
}

absl::Status KvSequence::Truncate(int32_t n) {
  if (n < 0 || n > size_) {
    return absl::OutOfRangeError(absl::StrCat("sequence ", id_,
                                              ": cannot truncate to ", n,
                                              " positions, it holds ", size_));
  }
  size_ = n;
  return absl::OkStatus();
}

void KvSequence::Reserve(int32_t n) {
  if (n <= capacity_) return;
  int64_t cap = std::max<int64_t>(kMinCapacity, 2ll * capacity_);
  cap = std::max<int64_t>(cap, n);
  cap = std::min<int64_t>(cap, seq_len_);
  const size_t words = static_cast<size_t>((cap * row_bytes_ + 3) / 4);
  for (int32_t l = 0; l < n_layers_; ++l) {
    key_cache_[l].resize(words);
    value_cache_[l].resize(words);
  }
  capacity_ = static_cast<int32_t>(cap);
}

absl::StatusOr<std::unique_ptr<KvSequence>> KvSequence::Fork(int32_t new_id,
                                                             int32_t n) const {
  if (n < 0 || n > size_) {
    return absl::OutOfRangeError(absl::StrCat(
        "sequence ", id_, ": cannot fork ", n, " positions, it holds ", size_));
  }
  auto copy = std::make_unique<KvSequence>(new_id, n_layers_, kv_dim_,
                                           seq_len_, dtype_);
  copy->Reserve(n);
  const size_t bytes = static_cast<size_t>(n) * row_bytes_;
  for (int32_t l = 0; l < n_layers_ && n > 0; ++l) {
    std::memcpy(copy->key_cache_[l].data(), key_cache_[l].data(), bytes);
    std::memcpy(copy->value_cache_[l].data(), value_cache_[l].data(), bytes);
  }
  copy->size_ = n;
  return copy;
}

KvCache::KvCache(const LlamaConfig& config, int32_t max_sequences,
                 KvDType dtype)
    : n_layers_(config.n_layers),
      kv_dim_(config.kv_dim),
      seq_len_(config.seq_len),
      max_sequences_(max_sequences),
      dtype_(dtype) {}

absl::Status KvCache::CheckNewId(int32_t id) const {
  if (sequences_.count(id) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("sequence ", id, " already exists"));
  }
  if (max_sequences_ > 0 &&
      static_cast<int32_t>(sequences_.size()) >= max_sequences_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot add sequence ", id, ": the limit is ",
                     max_sequences_, " sequences"));
  }
  return absl::OkStatus();
}

absl::StatusOr<KvSequence*> KvCache::Create(int32_t id) {
  if (auto s = CheckNewId(id); !s.ok()) return s;
  auto seq =
      std::make_unique<KvSequence>(id, n_layers_, kv_dim_, seq_len_, dtype_);
  KvSequence* raw = seq.get();
  sequences_[id] = std::move(seq);
  return raw;
}

absl::StatusOr<KvSequence*> KvCache::Fork(int32_t src_id, int32_t new_id,
                                          int32_t n) {
  KvSequence* src = Find(src_id);
  if (src == nullptr) {
    return absl::NotFoundError(absl::StrCat("sequence ", src_id, " not found"));
  }
  if (auto s = CheckNewId(new_id); !s.ok()) return s;
  auto copy = src->Fork(new_id, n < 0 ? src->size() : n);
  if (!copy.ok()) return copy.status();
  KvSequence* raw = copy->get();
  sequences_[new_id] = std::move(*copy);
  return raw;
}

absl::Status KvCache::Drop(int32_t id) {
  if (sequences_.erase(id) == 0) {
    return absl::NotFoundError(absl::StrCat("sequence ", id, " not found"));
  }
  return absl::OkStatus();
}

absl::Status KvCache::Truncate(int32_t id, int32_t n) {
  KvSequence* seq = Find(id);
  if (seq == nullptr) {
    return absl::NotFoundError(absl::StrCat("sequence ", id, " not found"));
  }
  return seq->Truncate(n);
}

KvSequence* KvCache::Find(int32_t id) {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : it->second.get();
}

uint64_t KvCache::allocated_bytes() const {
  uint64_t total = 0;
  for (const auto& [id, seq] : sequences_) total += seq->allocated_bytes();
  return total;
}

std::vector<int32_t> KvCache::ids() const {
  std::vector<int32_t> out;
  for (const auto& [id, seq] : sequences_) out.push_back(id);
  return out;
}

}  // namespace fm::model
