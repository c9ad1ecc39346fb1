#include "services/model/load_progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"

namespace fm::model {
namespace {

std::string Size(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= (1 << 30)) return absl::StrFormat("%.2f GiB", b / (1 << 30));
  return absl::StrFormat("%.1f MiB", b / (1 << 20));
}

int Percent(double done, double total) {
  return total > 0 ? static_cast<int>(100.0 * done / total) : 100;
}

}  // namespace

LoadProgress::LoadProgress(FILE* out, bool terminal, absl::Duration log_period)
    : out_(out), terminal_(terminal), period_(log_period) {}

void LoadProgress::Bytes(uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_ = done;
  Report(absl::StrCat("loading model: read ", Size(done), " of ", Size(total),
                      " (", Percent(done, total), "%)"),
         done >= total);
}

void LoadProgress::Tensors(int64_t done, int64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  Report(absl::StrCat("loading model: laid out ", done, " of ", total,
                      " tensors for the kernels (", Percent(done, total), "%)"),
         done >= total);
}

void LoadProgress::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (line_open_) std::fputc('\n', out_);
  line_open_ = false;
  FM_LOG(INFO) << "model read (" << Size(bytes_) << ") and laid out in "
               << absl::ToDoubleSeconds(absl::Now() - start_) << " s";
}

void LoadProgress::Report(const std::string& line, bool last) {
  const absl::Time now = absl::Now();
  // A terminal line is cheap to rewrite; a log line is kept for good.
  const absl::Duration every = terminal_ ? absl::Milliseconds(100) : period_;
  if (!last && now - last_report_ < every) return;
  last_report_ = now;
  if (terminal_) {
    // A finished phase keeps its line, so that log lines never join it.
    std::fprintf(out_, "\r%s\x1b[K%s", line.c_str(), last ? "\n" : "");
    std::fflush(out_);
    line_open_ = !last;
  } else if (!last || now - start_ >= period_) {
    // A load shorter than one period logs nothing per phase: the summary
    // line of Finish says it all.
    FM_LOG(INFO) << line;
  }
}

}  // namespace fm::model
