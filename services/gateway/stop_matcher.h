// StopMatcher: finds stop strings in streamed text, holding back any tail
// that might be the start of one until it is decided, so that a stop string
// split across tokens is cut exactly and never leaks into the stream.
#ifndef FM_SERVICES_GATEWAY_STOP_MATCHER_H_
#define FM_SERVICES_GATEWAY_STOP_MATCHER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fm::gateway {

class StopMatcher {
 public:
  struct Result {
    // Text that is now safe to stream (whole UTF-8 characters, since the
    // input is whole characters and stop strings are valid UTF-8).
    std::string emit;
    // True once a stop string matched; `emit` then ends right before it
    // (or after it, with include_stop_str).
    bool stopped = false;
    std::string stop_string;
  };

  // `stops` must be non-empty strings.
  StopMatcher(std::vector<std::string> stops, bool include_stop_str);

  // Feeds the next text delta. After a stop, further input is ignored.
  Result Feed(absl::string_view delta);

  // Releases held-back text at the end of generation (no stop matched).
  std::string Flush();

  bool stopped() const { return stopped_; }

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some
  // stop string.
  size_t PartialMatchLength() const;

  std::vector<std::string> stops_;
  bool include_stop_str_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_STOP_MATCHER_H_
