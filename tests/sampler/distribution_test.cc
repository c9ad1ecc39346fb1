// Statistical tests: seeded draws follow exactly the distribution a chain
// defines (chi-square over 20,000+ draws, p = 0.001, fixed seeds: no flakes).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include "services/sampler/sampler_chain.h"

namespace fm::sampler {
namespace {

constexpr int kDraws = 40000;

// Upper 0.001 quantiles of chi-square with 1..9 degrees of freedom.
double ChiSquareCritical(size_t df) {
  static const double kTable[] = {0,      10.828, 13.816, 16.266, 18.467,
                                  20.515, 22.458, 24.322, 26.124, 27.877};
  REQUIRE(df >= 1);
  REQUIRE(df <= 9);
  return kTable[df];
}

// Reference filters in double precision over a full probability vector
// (0 = removed), written independently of the library's kernels.
using Dist = std::vector<double>;

Dist Normalize(Dist p) {
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& v : p) v /= sum;
  return p;
}

Dist SoftmaxRef(const std::vector<float>& logits, double temperature = 1.0) {
  Dist p(logits.size());
  const double max = *std::max_element(logits.begin(), logits.end());
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp((logits[i] - max) / temperature);
  }
  return Normalize(p);
}

std::vector<size_t> ByProbDesc(const Dist& p) {
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&p](size_t a, size_t b) { return p[a] > p[b]; });
  return order;
}

Dist TopKRef(Dist p, size_t k) {
  const auto order = ByProbDesc(p);
  for (size_t i = k; i < order.size(); ++i) p[order[i]] = 0;
  return Normalize(p);
}

Dist TopPRef(Dist p, double top_p) {
  const auto order = ByProbDesc(p);
  double cumulative = 0;
  size_t i = 0;
  for (; i < order.size(); ++i) {
    cumulative += p[order[i]];
    if (cumulative >= top_p) break;
  }
  for (size_t j = i + 1; j < order.size(); ++j) p[order[j]] = 0;
  return Normalize(p);
}

Dist MinPRef(Dist p, double min_p) {
  const double max = *std::max_element(p.begin(), p.end());
  for (double& v : p) {
    if (v < min_p * max) v = 0;
  }
  return Normalize(p);
}

// Power transform p^(1/T), renormalised: temperature applied to probs.
Dist TemperatureRef(Dist p, double t) {
  for (double& v : p) v = v > 0 ? std::pow(v, 1.0 / t) : 0;
  return Normalize(p);
}

// Draws kDraws tokens (seed, sequence 0, steps 0..) with a fresh chain per
// draw and returns the chi-square statistic against `expected` (cells with
// expected 0 must never be drawn) and its degrees of freedom.
void CheckDistribution(const ChainSpec& spec, const std::vector<float>& logits,
                       const Dist& expected, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<SamplerChain>> chain = BuildChain(spec);
  REQUIRE(chain.ok());
  std::vector<int> counts(logits.size(), 0);
  SampleOptions options;
  options.accept = false;
  for (int step = 0; step < kDraws; ++step) {
    SamplingContext ctx{Rng(seed, 0, static_cast<uint64_t>(step))};
    absl::StatusOr<SampleResult> result =
        (*chain)->Sample(logits, ctx, options);
    REQUIRE(result.ok());
    ++counts[result->token];
  }
  double chi2 = 0;
  size_t cells = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    CAPTURE(i, expected[i], counts[i]);
    if (expected[i] == 0) {
      REQUIRE(counts[i] == 0);
      continue;
    }
    const double e = expected[i] * kDraws;
    REQUIRE(e >= 5);  // Chi-square needs enough expected counts per cell.
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
    ++cells;
  }
  if (cells < 2) return;  // Deterministic outcome; checked above.
  CAPTURE(chi2, cells);
  CHECK(chi2 < ChiSquareCritical(cells - 1));
}

std::vector<float> Logits(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

const std::vector<double> kProbs = {0.30, 0.22,  0.18,  0.12,
                                    0.08, 0.045, 0.035, 0.02};

TEST_CASE("dist alone follows softmax of the logits") {
  const auto logits = Logits(kProbs);
  CheckDistribution({{"dist", {}}}, logits, SoftmaxRef(logits), 101);
}

TEST_CASE("temperature follows softmax of logits over T") {
  const auto logits = Logits(kProbs);
  for (double t : {0.5, 0.8, 1.7}) {
    CAPTURE(t);
    CheckDistribution({{"temperature", {{"temperature", t}}}, {"dist", {}}},
                      logits, SoftmaxRef(logits, t), 202);
  }
}

TEST_CASE("top_k follows the renormalised head") {
  const auto logits = Logits(kProbs);
  for (int64_t k : {1, 3, 5}) {
    CAPTURE(k);
    CheckDistribution({{"top_k", {{"k", k}}}, {"dist", {}}}, logits,
                      TopKRef(SoftmaxRef(logits), k), 303);
  }
}

TEST_CASE("top_p follows the renormalised nucleus") {
  const auto logits = Logits(kProbs);
  // Cumulative: .30 .52 .70 .82 .90 .945 .98 1 -- p kept off the edges.
  for (double p : {0.25, 0.6, 0.85, 0.97}) {
    CAPTURE(p);
    CheckDistribution({{"top_p", {{"p", p}}}, {"dist", {}}}, logits,
                      TopPRef(SoftmaxRef(logits), p), 404);
  }
}

TEST_CASE("min_p follows the thresholded distribution") {
  const auto logits = Logits(kProbs);
  for (double p : {0.05, 0.2, 0.5}) {
    CAPTURE(p);
    CheckDistribution({{"min_p", {{"p", p}}}, {"dist", {}}}, logits,
                      MinPRef(SoftmaxRef(logits), p), 505);
  }
}

TEST_CASE("combined chains follow the composed distribution") {
  const auto logits = Logits(kProbs);
  // llama.cpp's order: truncation at T = 1, temperature last.
  CheckDistribution(
      {{"top_k", {{"k", int64_t{6}}}},
       {"top_p", {{"p", 0.85}}},
       {"min_p", {{"p", 0.2}}},
       {"temperature", {{"temperature", 1.5}}},
       {"dist", {}}},
      logits,
      TemperatureRef(
          MinPRef(TopPRef(TopKRef(SoftmaxRef(logits), 6), 0.85), 0.2), 1.5),
      606);
  // Temperature first (TGI's order) changes which tokens survive top_p.
  CheckDistribution({{"temperature", {{"temperature", 0.6}}},
                     {"top_p", {{"p", 0.9}}},
                     {"top_k", {{"k", int64_t{3}}}},
                     {"dist", {}}},
                    logits, TopKRef(TopPRef(SoftmaxRef(logits, 0.6), 0.9), 3),
                    707);
  // The default profile's chain on these logits (penalties are off).
  CheckDistribution(
      DefaultChainSpec(), logits,
      TemperatureRef(
          MinPRef(TopPRef(TopKRef(SoftmaxRef(logits), 40), 0.95), 0.05), 0.8),
      808);
}

}  // namespace
}  // namespace fm::sampler
