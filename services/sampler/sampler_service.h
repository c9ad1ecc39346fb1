// SamplerServiceImpl: fm.v1.SamplerService over the sampler core. Protos
// are converted to chains, options and results here and nowhere else.
#ifndef FM_SERVICES_SAMPLER_SAMPLER_SERVICE_H_
#define FM_SERVICES_SAMPLER_SAMPLER_SERVICE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "fm/v1/sampler.grpc.pb.h"
#include "services/sampler/profile_store.h"
#include "services/sampler/sampler_chain.h"
#include "services/sampler/vocabulary_source.h"

namespace fm::sampler {

struct SamplerServiceLimits {
  // Most alternatives a request may ask for (SampleOptions.top_logprobs).
  int32_t max_top_logprobs = 20;
  // Most inputs in one Sample call or session step.
  int32_t max_inputs = 256;
  // Most shadow profiles per request.
  int32_t max_shadows = 8;
  // Largest vocabulary a session or a Sample input may declare.
  int32_t max_vocab_size = 1 << 20;
  // Most sequences one session may sample.
  int32_t max_sequences = 256;
};

// A chain resolved from a request: inline or a profile's snapshot.
struct ResolvedChain {
  std::string name;  // profile name, or "inline"
  ChainSpec spec;
  std::shared_ptr<const SamplerChain> prototype;  // validated, no history
};

class SamplerServiceImpl final
    : public fm::v1::SamplerService::CallbackService {
 public:
  // `profiles` (and `vocabularies`, when not null) must outlive the
  // service. Work runs on `threads` workers. Without `vocabularies`,
  // sessions with constraint stages are refused (FAILED_PRECONDITION).
  SamplerServiceImpl(ProfileStore* profiles, SamplerServiceLimits limits,
                     int threads,
                     const VocabularySource* vocabularies = nullptr);

  grpc::ServerUnaryReactor* Sample(grpc::CallbackServerContext* ctx,
                                   const fm::v1::SampleRequest* request,
                                   fm::v1::SampleResponse* response) override;
  grpc::ServerBidiReactor<fm::v1::SamplerSessionRequest,
                          fm::v1::SamplerSessionResponse>*
  Session(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ListStages(
      grpc::CallbackServerContext* ctx,
      const fm::v1::ListStagesRequest* request,
      fm::v1::ListStagesResponse* response) override;
  grpc::ServerUnaryReactor* PutProfile(grpc::CallbackServerContext* ctx,
                                       const fm::v1::PutProfileRequest* request,
                                       fm::v1::Profile* response) override;
  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
                                       const fm::v1::GetProfileRequest* request,
                                       fm::v1::Profile* response) override;
  grpc::ServerUnaryReactor* ListProfiles(
      grpc::CallbackServerContext* ctx,
      const fm::v1::ListProfilesRequest* request,
      fm::v1::ListProfilesResponse* response) override;
  grpc::ServerUnaryReactor* DeleteProfile(
      grpc::CallbackServerContext* ctx,
      const fm::v1::DeleteProfileRequest* request,
      fm::v1::DeleteProfileResponse* response) override;
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx,
                                 const fm::v1::SamplerInfoRequest* request,
                                 fm::v1::SamplerInfo* response) override;
  grpc::ServerUnaryReactor* CheckConstraint(
      grpc::CallbackServerContext* ctx,
      const fm::v1::CheckConstraintRequest* request,
      fm::v1::ConstraintCheck* response) override;

  // For metrics (read at scrape time).
  int64_t active_sessions() const {
    // Closed first, as in Info: never a negative count.
    const int64_t closed = sessions_closed_.load(std::memory_order_relaxed);
    return std::max<int64_t>(
        sessions_opened_.load(std::memory_order_relaxed) - closed, 0);
  }
  int64_t sessions_opened() const {
    return sessions_opened_.load(std::memory_order_relaxed);
  }
  int64_t sample_calls() const {
    return sample_calls_.load(std::memory_order_relaxed);
  }
  int64_t tokens_sampled() const {
    return tokens_sampled_.load(std::memory_order_relaxed);
  }
  int64_t profile_count() const {
    return static_cast<int64_t>(profiles_->size());
  }

 private:
  class SessionReactor;

  absl::StatusOr<ResolvedChain> Resolve(const fm::v1::SamplingSpec& spec) const;
  absl::Status ValidateOptions(const fm::v1::SampleOptions& options) const;
  absl::Status DoSample(const fm::v1::SampleRequest& request,
                        fm::v1::SampleResponse* response) const;
  absl::Status DoCheckConstraint(const fm::v1::CheckConstraintRequest& request,
                                 fm::v1::ConstraintCheck* response) const;

  ProfileStore* profiles_;
  const SamplerServiceLimits limits_;
  const VocabularySource no_vocabulary_;
  const VocabularySource* vocabularies_;
  Executor executor_;
  // Profile writes wait for the profile file's lock (other replicas may
  // hold it) and fsync: never on the sampling workers.
  Executor profile_writer_{1};
  // Lifetime counters reported by Info.
  std::atomic<int64_t> sessions_opened_{0};
  std::atomic<int64_t> sessions_closed_{0};
  std::atomic<int64_t> sample_calls_{0};
  std::atomic<int64_t> tokens_sampled_{0};
};

// A seed for requests that bring none: from the OS entropy source.
uint64_t FreshSeed();

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_SAMPLER_SERVICE_H_
