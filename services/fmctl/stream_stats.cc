#include "services/fmctl/stream_stats.h"

namespace fm::fmctl {

StreamStats::StreamStats(absl::Time start, FILE* out, bool terminal,
                         absl::Duration log_period)
    : start_(start), out_(out), terminal_(terminal), period_(log_period) {}

void StreamStats::Add(const fm::v1::GenerateResponse& m, absl::Time now) {
  if (m.token_ids_size() > 0 && first_token_ == absl::InfiniteFuture()) {
    first_token_ = now;
    first_tokens_ = m.token_ids_size();
    std::fprintf(out_, "time to first token: %.1f ms\n",
                 absl::ToDoubleMilliseconds(now - start_));
    last_print_ = now;
  }
  tokens_ += m.token_ids_size();
  if (m.has_usage() && m.usage().completion_tokens() > 0) {
    server_ttft_ms_ = m.usage().time_to_first_token_ms();
    server_tokens_per_second_ = m.usage().tokens_per_second();
  }
  // A terminal line is cheap to rewrite, a log line is not.
  const absl::Duration every = terminal_ ? absl::Milliseconds(200) : period_;
  if (now - last_print_ >= every) PrintLive(now);
}

double StreamStats::TokensPerSecond(absl::Time now) const {
  // As the gateway counts it: the tokens after the first over the time
  // since the first (prefill is in the time to first token).
  const double seconds = absl::ToDoubleSeconds(now - first_token_);
  if (first_token_ == absl::InfiniteFuture() || seconds <= 0) return 0;
  return static_cast<double>(tokens_ - first_tokens_) / seconds;
}

void StreamStats::PrintLive(absl::Time now) {
  last_print_ = now;
  if (terminal_) {
    std::fprintf(out_, "\r%lld tokens, %.1f tokens/s\x1b[K",
                 static_cast<long long>(tokens_), TokensPerSecond(now));
    live_line_open_ = true;
  } else {
    std::fprintf(out_, "%lld tokens, %.1f tokens/s\n",
                 static_cast<long long>(tokens_), TokensPerSecond(now));
  }
  std::fflush(out_);
}

void StreamStats::Finish(absl::Time now) {
  if (live_line_open_) std::fputc('\n', out_);
  live_line_open_ = false;
  std::fprintf(out_, "%lld tokens in %.3f s, %.1f tokens/s after the first",
               static_cast<long long>(tokens_),
               absl::ToDoubleSeconds(now - start_), TokensPerSecond(now));
  if (server_tokens_per_second_ > 0) {
    std::fprintf(out_, " (gateway: time to first token %.1f ms, %.1f tokens/s)",
                 server_ttft_ms_, server_tokens_per_second_);
  }
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace fm::fmctl
