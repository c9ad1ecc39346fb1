#include "common/metrics/metrics_registry.h"

namespace fm::metrics {

const std::shared_ptr<prometheus::Registry>& DefaultRegistry() {
  // Never destroyed: metrics may be updated by threads still running while
  // the process exits.
  static const auto* const registry = new std::shared_ptr<prometheus::Registry>(
      std::make_shared<prometheus::Registry>());
  return *registry;
}

prometheus::Histogram::BucketBoundaries ExponentialBuckets(double start,
                                                           double factor,
                                                           int count) {
  prometheus::Histogram::BucketBoundaries bounds;
  bounds.reserve(count);
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

}  // namespace fm::metrics
