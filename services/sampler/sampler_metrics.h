// fm-sampler's metrics: the time of every stage of every sampling step
// (fm_sampler_stage_seconds{stage}) and the scrape-time series read from
// the running service (sessions, calls, tokens).
#ifndef FM_SERVICES_SAMPLER_SAMPLER_METRICS_H_
#define FM_SERVICES_SAMPLER_SAMPLER_METRICS_H_

#include <prometheus/histogram.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/metrics/callback_metrics.h"
#include "services/sampler/sampler_chain.h"

namespace fm::sampler {

class SamplerServiceImpl;

// A StageTimer into fm_sampler_stage_seconds. Keeps the histogram of each
// chain position, so that a step costs no label lookup; one per session or
// call (not thread-safe).
class StageSeconds final : public StageTimer {
 public:
  void Record(size_t index, absl::string_view stage, double seconds) override;

 private:
  std::vector<std::pair<std::string, prometheus::Histogram*>> by_index_;
};

// Open sessions, sessions opened, Sample calls and tokens sampled, read
// from `service` (which must outlive the collectable's scrapes).
std::shared_ptr<metrics::CallbackMetrics> SamplerServiceMetrics(
    const SamplerServiceImpl& service);

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_SAMPLER_METRICS_H_
