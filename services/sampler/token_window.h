// The recent-token window that history-based stages (penalties, DRY) learn
// through Accept: the last `last_n` tokens and how often each occurs.
#ifndef FM_SERVICES_SAMPLER_TOKEN_WINDOW_H_
#define FM_SERVICES_SAMPLER_TOKEN_WINDOW_H_

#include <cstdint>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "services/sampler/token_candidates.h"

namespace fm::sampler {

class TokenWindow {
 public:
  // last_n < 0: the whole history; 0: nothing (the stage is off).
  explicit TokenWindow(int64_t last_n) : last_n_(last_n) {}

  void Push(TokenId token) {
    if (last_n_ == 0) return;
    tokens_.push_back(token);
    ++counts_[token];
    if (last_n_ > 0 && static_cast<int64_t>(tokens_.size()) > last_n_) {
      const TokenId old = tokens_.front();
      tokens_.pop_front();
      auto it = counts_.find(old);
      if (--it->second == 0) counts_.erase(it);
    }
  }

  void Clear() {
    tokens_.clear();
    counts_.clear();
  }

  // Oldest first.
  const std::deque<TokenId>& tokens() const { return tokens_; }
  const absl::flat_hash_map<TokenId, int32_t>& counts() const {
    return counts_;
  }

 private:
  int64_t last_n_;
  std::deque<TokenId> tokens_;
  absl::flat_hash_map<TokenId, int32_t> counts_;
};

// Calls adjust(float& logit, count) for every candidate whose id occurs in
// `counts`: O(|counts|) on a dense (full-vocabulary) set, else one lookup
// per candidate. Clears `sorted` when anything was adjusted.
template <typename Adjust>
void ForEachCounted(TokenCandidates& candidates,
                    const absl::flat_hash_map<TokenId, int32_t>& counts,
                    Adjust adjust) {
  if (counts.empty() || candidates.empty()) return;
  bool touched = false;
  if (candidates.dense) {
    const int64_t n = static_cast<int64_t>(candidates.data.size());
    for (const auto& [id, count] : counts) {
      if (id < 0 || id >= n) continue;
      adjust(candidates.data[id].logit, count);
      touched = true;
    }
  } else {
    for (TokenData& d : candidates.data) {
      auto it = counts.find(d.id);
      if (it == counts.end()) continue;
      adjust(d.logit, it->second);
      touched = true;
    }
  }
  if (touched) candidates.sorted = false;
}

// The same on the chain's dense logits (logits[id] for every id).
template <typename Adjust>
void ForEachCountedDense(absl::Span<float> logits,
                         const absl::flat_hash_map<TokenId, int32_t>& counts,
                         Adjust adjust) {
  const int64_t n = static_cast<int64_t>(logits.size());
  for (const auto& [id, count] : counts) {
    if (id >= 0 && id < n) adjust(logits[id], count);
  }
}

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_TOKEN_WINDOW_H_
