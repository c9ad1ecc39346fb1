// SamplerChain: an ordered list of stages that is itself a stage, plus the
// Sample step (logits in; token, logprobs, alternatives and trace out).
#ifndef FM_SERVICES_SAMPLER_SAMPLER_CHAIN_H_
#define FM_SERVICES_SAMPLER_SAMPLER_CHAIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/sampler/chain_spec.h"
#include "services/sampler/sampler_stage.h"
#include "services/sampler/token_candidates.h"

namespace fm::sampler {

// Most stages one chain may hold.
constexpr size_t kMaxChainStages = 64;

enum class LogprobMode {
  kRaw,        // log-softmax of the logits as received.
  kProcessed,  // log-softmax over the candidates left after the chain.
};

// Receives the wall time of every stage of every step (metrics). Called on
// the sampling thread; must not block.
class StageTimer {
 public:
  virtual ~StageTimer() = default;
  // `index` is the stage's position in the chain, `stage` its name.
  virtual void Record(size_t index, absl::string_view stage,
                      double seconds) = 0;
};

struct SampleOptions {
  // Alternatives to return (highest first); clamped to the candidate count.
  int32_t top_n = 0;
  LogprobMode logprob_mode = LogprobMode::kProcessed;
  // Record, after every stage, the candidates left and the top few.
  bool trace = false;
  int32_t trace_top = 5;
  // > 0: the logits must have exactly this many entries (the session's
  // vocabulary); otherwise INVALID_ARGUMENT.
  int64_t vocab_size = 0;
  // Call Accept(token) on the chain afterwards, as llama.cpp's sample does.
  bool accept = true;
  // Report what the first stage allows next (SamplerStage::AllowedNext).
  bool report_next_allowed = false;
  // When set, told every stage's time (not owned).
  StageTimer* stage_timer = nullptr;
};

struct TokenLogprob {
  TokenId id;
  float logprob;
};

struct StageTrace {
  std::string stage;
  // Left after the stage. While the set is still the whole vocabulary,
  // banned tokens count too (they stay, at -inf, with probability 0).
  int64_t candidates = 0;
  std::vector<TokenData> top;  // Highest logits, prob = softmax over the set.
  double micros = 0.0;         // Time the stage took.
};

struct SampleResult {
  TokenId token = -1;
  float logprob = 0.0f;           // In the requested mode.
  std::vector<TokenLogprob> top;  // Top-N alternatives, same mode.
  std::vector<StageTrace> trace;  // Empty unless options.trace.
  int64_t candidates = 0;         // Left when the selector ran.
};

// Not thread-safe: one chain serves one generation at a time (its stages
// keep history and it reuses a vocabulary-sized buffer). Clone() for more.
class SamplerChain final : public SamplerStage {
 public:
  SamplerChain() = default;

  // Takes ownership; `stage` must not be null.
  void Add(std::unique_ptr<SamplerStage> stage);
  size_t size() const { return stages_.size(); }
  const SamplerStage& stage(size_t i) const { return *stages_[i]; }
  SamplerStage& mutable_stage(size_t i) { return *stages_[i]; }

  absl::string_view Name() const override { return "chain"; }
  // Runs every stage in order.
  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override;
  // Broadcast to every stage.
  void Accept(TokenId token) override;
  void AcceptPrompt(TokenId token) override;
  absl::Status BindVocabulary(const SessionVocabulary& vocabulary) override;
  void Reset() override;
  // Deep copy of the stages, with their history and state.
  std::unique_ptr<SamplerStage> Clone() const override;
  std::unique_ptr<SamplerChain> CloneChain() const;
  bool IsSelector() const override {
    return !stages_.empty() && stages_.back()->IsSelector();
  }

  // One sampling step: checks the logits (INVALID_ARGUMENT for an empty
  // vector, a length other than options.vocab_size, or a NaN/Inf entry,
  // naming its index), builds the candidates, runs the chain and reports
  // the choice. INVALID_ARGUMENT when a stage leaves no candidate or every
  // candidate is banned. Accepts the token unless options.accept is false.
  absl::StatusOr<SampleResult> Sample(absl::Span<const float> logits,
                                      SamplingContext& ctx,
                                      const SampleOptions& options = {});

 private:
  std::vector<std::unique_ptr<SamplerStage>> stages_;
  // (vocab_size) working logits while the set is still the vocabulary
  // (see SamplerStage::ApplyDense); reused per call.
  std::vector<float> dense_logits_;
  TokenCandidates candidates_;          // (candidates) reused per call.
  std::vector<TokenData> top_scratch_;  // (top_n) reused per call.
};

// Validates every stage (see BuildStage) and the shape of the chain: not
// empty, at most kMaxChainStages, ends with a selector and has no selector
// before the end. Errors name the stage's position.
absl::StatusOr<std::unique_ptr<SamplerChain>> BuildChain(const ChainSpec& spec);

// The `default` profile: repetition_penalty (1.0, off), presence_penalty
// (0), frequency_penalty (0), top_k 40, top_p 0.95, min_p 0.05,
// temperature 0.8, dist.
ChainSpec DefaultChainSpec();

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_SAMPLER_CHAIN_H_
