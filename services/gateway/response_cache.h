// ResponseCache: an exact, bounded LRU cache of whole Generate responses for
// deterministic requests (greedy, or sampled with an explicit seed). The
// chapter names caching as a remedy for inconsistent answers; no peer
// system caches outputs.
#ifndef FM_SERVICES_GATEWAY_RESPONSE_CACHE_H_
#define FM_SERVICES_GATEWAY_RESPONSE_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fm/v1/gateway.pb.h"

namespace fm::gateway {

using CachedResponses = std::vector<fm::v1::GenerateResponse>;

// Thread-safe.
class ResponseCache {
 public:
  // max_entries == 0 disables the cache.
  explicit ResponseCache(size_t max_entries) : max_entries_(max_entries) {}

  // The responses stored under `key` (marking it most recently used), or
  // nullptr. Counts a hit or a miss.
  std::shared_ptr<const CachedResponses> Get(const std::string& key);
  // Stores `responses`, evicting the least recently used entry when full.
  void Put(const std::string& key, CachedResponses responses);

  int64_t entries() const;
  int64_t hits() const;
  int64_t misses() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CachedResponses>>;

  const size_t max_entries_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_RESPONSE_CACHE_H_
