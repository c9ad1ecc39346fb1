// metrics_bench: does scraping slow a request down? One gateway stack
// (every service with its metrics listener), single greedy streams in
// alternating pairs: one with nobody scraping, one while a second thread
// scrapes all four services' /metrics every 100 ms (ten times Prometheus'
// usual rate). Reports tokens/s and time to first token of both and their
// ratio and difference (medians of the pairs'), and what one scrape of each
// service costs and weighs. Random-weight checkpoints of the stories15M and
// stories110M shapes; needs FM_MODELS (the Llama 2 tokenizer) and the built
// binaries (FM_BIN_DIR, default build/bin). --quick for a short run.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/gateway/bench_stack.h"
#include "bench/median.h"
#include "tests/support/test_env.h"

namespace {

using fm::bench::StreamResult;

fm::v1::GenerateRequest Request(int tokens) {
  fm::v1::GenerateRequest r;
  r.set_text("Once upon a time");
  r.set_max_tokens(tokens);
  r.set_ignore_eos(true);
  r.set_no_cache(true);
  r.mutable_shorthand()->set_temperature(0);
  return r;
}

// Scrapes every port in turn every `period` until stopped; counts failures
// and records each scrape's milliseconds and bytes.
class Scraper {
 public:
  Scraper(const std::vector<int>& ports, absl::Duration period)
      : ports_(ports), period_(period) {}

  void Start() {
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_ = true;
    thread_.join();
  }
  // One scrape of `port` now: milliseconds, and its size in `*bytes`.
  static double ScrapeOnce(int port, size_t* bytes) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(5, 0);
    const absl::Time start = absl::Now();
    auto r = client.Get("/metrics");
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    *bytes = r && r->status == 200 ? r->body.size() : 0;
    return ms;
  }
  int failures() const { return failures_; }
  int scrapes() const { return scrapes_; }

 private:
  void Run() {
    while (!stop_) {
      const absl::Time round = absl::Now();
      for (int port : ports_) {
        size_t bytes = 0;
        ScrapeOnce(port, &bytes);
        ++scrapes_;
        if (bytes == 0) ++failures_;
      }
      absl::SleepFor(period_ - (absl::Now() - round));
    }
  }

  const std::vector<int> ports_;
  const absl::Duration period_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::atomic<int> scrapes_{0};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) quick |= std::strcmp(argv[i], "--quick") == 0;
  const std::string tokenizer =
      fm::testing::ModelFile("llama2-tokenizer.model");
  if (tokenizer.empty()) {
    std::fprintf(stderr,
                 "metrics_bench needs FM_MODELS with llama2-tokenizer.model\n");
    return 2;
  }
  const int pairs = quick ? 3 : 9;
  std::printf(
      "Single streams alternate, %d pairs, the order swapped each pair: "
      "nobody scraping, and all four services scraped every 100 ms. "
      "Figures are medians; the ratio and the difference the medians of the "
      "pairs'.\n\n"
      "| model | tok/s | tok/s scraped | scraped / not (min-max) | TTFT ms | "
      "TTFT ms scraped | difference ms (min-max) | scrapes (failed) |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n",
      pairs);
  std::vector<std::string> cost_rows;
  for (const fm::bench::Shape& shape : fm::bench::StoryShapes()) {
    auto path = fm::bench::WriteRandomCheckpoint(shape);
    if (!path.ok()) return 1;
    auto stack = fm::bench::BenchStack::Start(*path, tokenizer, 1);
    if (!stack.ok()) {
      std::fprintf(stderr, "%s\n", stack.status().ToString().c_str());
      return 1;
    }
    const int tokens = quick ? 48 : (shape.dim > 500 ? 128 : 256);
    fm::bench::GrpcStream((*stack)->stub(), Request(8));  // warm up
    Scraper scraper((*stack)->metrics_ports(), absl::Milliseconds(100));
    std::vector<double> rate, rate_scraped, ratio, ttft, ttft_scraped, diff;
    for (int pair = 0; pair < pairs; ++pair) {
      StreamResult plain, scraped;
      auto run_scraped = [&] {
        scraper.Start();
        scraped = fm::bench::GrpcStream((*stack)->stub(), Request(tokens));
        scraper.Stop();
      };
      if (pair % 2 == 0) {
        plain = fm::bench::GrpcStream((*stack)->stub(), Request(tokens));
        run_scraped();
      } else {
        run_scraped();
        plain = fm::bench::GrpcStream((*stack)->stub(), Request(tokens));
      }
      if (!plain.ok || !scraped.ok || plain.tokens != scraped.tokens) {
        std::fprintf(stderr, "pair %d: %d and %d tokens\n", pair, plain.tokens,
                     scraped.tokens);
        return 1;
      }
      rate.push_back(plain.TokensPerSecond());
      rate_scraped.push_back(scraped.TokensPerSecond());
      ratio.push_back(scraped.TokensPerSecond() / plain.TokensPerSecond());
      ttft.push_back(plain.TimeToFirstTokenMs());
      ttft_scraped.push_back(scraped.TimeToFirstTokenMs());
      diff.push_back(scraped.TimeToFirstTokenMs() - plain.TimeToFirstTokenMs());
    }
    const auto [ratio_min, ratio_max] =
        std::minmax_element(ratio.begin(), ratio.end());
    const auto [diff_min, diff_max] =
        std::minmax_element(diff.begin(), diff.end());
    std::printf(
        "| %s | %.1f | %.1f | %.1f%% (%.1f-%.1f%%) | %.2f | %.2f | %+.2f "
        "(%+.2f to %+.2f) | %d (%d) |\n",
        shape.name, fm::bench::Median(rate), fm::bench::Median(rate_scraped),
        100 * fm::bench::Median(ratio), 100 * *ratio_min, 100 * *ratio_max,
        fm::bench::Median(ttft), fm::bench::Median(ttft_scraped),
        fm::bench::Median(diff), *diff_min, *diff_max, scraper.scrapes(),
        scraper.failures());
    const char* names[] = {"fm-tokenizer", "fm-model", "fm-sampler",
                           "fm-gateway"};
    for (size_t i = 0; i < (*stack)->metrics_ports().size(); ++i) {
      std::vector<double> ms;
      size_t bytes = 0;
      for (int k = 0; k < (quick ? 5 : 21); ++k) {
        ms.push_back(Scraper::ScrapeOnce((*stack)->metrics_ports()[i], &bytes));
      }
      char row[160];
      std::snprintf(row, sizeof row, "| %s | %s | %.2f | %zu |", shape.name,
                    names[i], fm::bench::Median(ms), bytes);
      cost_rows.push_back(row);
    }
  }
  std::printf(
      "\nOne scrape (a new connection each, median):\n\n"
      "| model | service | ms | bytes |\n|---|---|---:|---:|\n");
  for (const std::string& row : cost_rows) std::printf("%s\n", row.c_str());
  return 0;
}
