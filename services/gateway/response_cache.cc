// ResponseCache: list + hash map LRU.
#include "services/gateway/response_cache.h"

#include <utility>

namespace fm::gateway {

std::shared_ptr<const CachedResponses> ResponseCache::Get(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ResponseCache::Put(const std::string& key, CachedResponses responses) {
  if (max_entries_ == 0) return;
  auto value = std::make_shared<const CachedResponses>(std::move(responses));
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->second = std::move(value);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, std::move(value));
  index_[key] = lru_.begin();
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

int64_t ResponseCache::entries() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(lru_.size());
}

int64_t ResponseCache::hits() const {
  absl::MutexLock lock(&mu_);
  return hits_;
}

int64_t ResponseCache::misses() const {
  absl::MutexLock lock(&mu_);
  return misses_;
}

}  // namespace fm::gateway
