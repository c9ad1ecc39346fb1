// StopMatcher: earliest match wins; held-back text is the longest suffix
// that could still grow into a stop string.
#include "services/gateway/stop_matcher.h"

#include <utility>

namespace fm::gateway {

StopMatcher::StopMatcher(std::vector<std::string> stops, bool include_stop_str)
    : stops_(std::move(stops)), include_stop_str_(include_stop_str) {}

size_t StopMatcher::PartialMatchLength() const {
  size_t best = 0;
  for (const std::string& stop : stops_) {
    const size_t max = std::min(stop.size() - 1, held_.size());
    for (size_t len = max; len > best; --len) {
      if (held_.compare(held_.size() - len, len, stop, 0, len) == 0) {
        best = len;
        break;
      }
    }
  }
  return best;
}

StopMatcher::Result StopMatcher::Feed(absl::string_view delta) {
  Result result;
  if (stopped_) return result;
  held_.append(delta.data(), delta.size());
  // The earliest stop string in the text wins; among those starting at the
  // same place, the longest.
  size_t best_pos = std::string::npos;
  const std::string* best = nullptr;
  for (const std::string& stop : stops_) {
    const size_t pos = held_.find(stop);
    if (pos == std::string::npos) continue;
    if (pos < best_pos || (pos == best_pos && stop.size() > best->size())) {
      best_pos = pos;
      best = &stop;
    }
  }
  if (best != nullptr) {
    stopped_ = true;
    result.stopped = true;
    result.stop_string = *best;
    result.emit = held_.substr(0, best_pos + (include_stop_str_ ? best->size() : 0));
    held_.clear();
    return result;
  }
  const size_t keep = PartialMatchLength();
  result.emit = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return result;
}

std::string StopMatcher::Flush() {
  std::string rest;
  rest.swap(held_);
  return stopped_ ? std::string() : rest;
}

}  // namespace fm::gateway
