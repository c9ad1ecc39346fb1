// `generate --stats`: time to first token and tokens/s of a stream, as the
// client sees them, written to stderr while the text goes to stdout.
#ifndef FM_SERVICES_FMCTL_STREAM_STATS_H_
#define FM_SERVICES_FMCTL_STREAM_STATS_H_

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fm/v1/gateway.pb.h"

namespace fm::fmctl {

class StreamStats {
 public:
  // `start`: when the call was made. On a terminal the live figures
  // rewrite one line; otherwise a line is written every `log_period`.
  StreamStats(absl::Time start, FILE* out, bool terminal,
              absl::Duration log_period = absl::Seconds(1));

  // One message of the stream, received at `now`.
  void Add(const fm::v1::GenerateResponse& m, absl::Time now);
  // The stream ended at `now`: the summary line (client-side figures, and
  // the gateway's own when its usage came).
  void Finish(absl::Time now);

 private:
  double TokensPerSecond(absl::Time now) const;
  void PrintLive(absl::Time now);

  absl::Time start_;
  FILE* out_;
  bool terminal_;
  absl::Duration period_;
  absl::Time first_token_ = absl::InfiniteFuture();
  absl::Time last_print_ = absl::InfinitePast();
  int64_t tokens_ = 0;
  // Tokens of the message that carried the first token (not decode time).
  int64_t first_tokens_ = 0;
  bool live_line_open_ = false;
  // The gateway's figures from the last usage it sent (0: none).
  double server_ttft_ms_ = 0;
  double server_tokens_per_second_ = 0;
};

}  // namespace fm::fmctl

#endif  // FM_SERVICES_FMCTL_STREAM_STATS_H_
