// SamplerChain and BuildChain; see sampler_chain.h. Sample allocates nothing
// after its first call and sorts the vocabulary on no common path.
#include "services/sampler/sampler_chain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/sampler/candidate_ops.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {
namespace {

// Index of the first NaN or +inf entry, or -1. -inf is allowed: it is how
// a banned token, or one left out of a top-K transfer, is written. The
// first pass is a branch-free reduction the compiler vectorises.
int64_t FirstInvalid(absl::Span<const float> logits) {
  const float* v = logits.data();
  const size_t n = logits.size();
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], sizeof(bits));
    // Exponent all ones, and not exactly -inf (0xff800000).
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u &&
                                 bits != 0xff800000u);
  }
  if (bad == 0) return -1;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(v[i]) || v[i] == std::numeric_limits<float>::infinity()) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

void FillCandidates(absl::Span<const float> logits, TokenCandidates& c) {
  const size_t n = logits.size();
  c.data.resize(n);
  TokenData* data = c.data.data();
  const float* v = logits.data();
  for (size_t i = 0; i < n; ++i) {
    data[i].id = static_cast<TokenId>(i);
    data[i].logit = v[i];
    data[i].prob = 0.0f;
  }
  c.selected = -1;
  c.sorted = n <= 1;
  c.dense = true;
  c.log_normalizer = std::numeric_limits<double>::quiet_NaN();
}

void RecordDenseTrace(absl::string_view stage, absl::Span<const float> logits,
                      int32_t trace_top, double micros, SampleResult& result) {
  StageTrace t;
  t.stage = std::string(stage);
  t.candidates = static_cast<int64_t>(logits.size());
  t.micros = micros;
  TopOfLogits(logits, static_cast<size_t>(std::max(trace_top, 0)), &t.top);
  const double lse = LogSumExp(logits);
  for (TokenData& d : t.top) {
    d.prob =
        std::isinf(lse) ? 0.0f : static_cast<float>(std::exp(d.logit - lse));
  }
  result.trace.push_back(std::move(t));
}

void RecordTrace(absl::string_view stage, const TokenCandidates& c,
                 int32_t trace_top, double micros, SampleResult& result) {
  StageTrace t;
  t.stage = std::string(stage);
  t.candidates = static_cast<int64_t>(c.size());
  t.micros = micros;
  TopByLogit(c, static_cast<size_t>(std::max(trace_top, 0)), &t.top);
  const double lse = LogSumExp(c);
  for (TokenData& d : t.top) {
    d.prob =
        std::isinf(lse) ? 0.0f : static_cast<float>(std::exp(d.logit - lse));
  }
  result.trace.push_back(std::move(t));
}

}  // namespace

void SamplerChain::Add(std::unique_ptr<SamplerStage> stage) {
  stages_.push_back(std::move(stage));
}

void SamplerChain::Apply(TokenCandidates& candidates, SamplingContext& ctx) {
  for (auto& stage : stages_) stage->Apply(candidates, ctx);
}

void SamplerChain::Accept(TokenId token) {
  for (auto& stage : stages_) stage->Accept(token);
}

void SamplerChain::AcceptPrompt(TokenId token) {
  for (auto& stage : stages_) stage->AcceptPrompt(token);
}

absl::Status SamplerChain::BindVocabulary(const SessionVocabulary& vocabulary) {
  for (auto& stage : stages_) {
    if (absl::Status s = stage->BindVocabulary(vocabulary); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void SamplerChain::Reset() {
  for (auto& stage : stages_) stage->Reset();
}

std::unique_ptr<SamplerStage> SamplerChain::Clone() const {
  return CloneChain();
}

std::unique_ptr<SamplerChain> SamplerChain::CloneChain() const {
  auto copy = std::make_unique<SamplerChain>();
  for (const auto& stage : stages_) copy->Add(stage->Clone());
  return copy;
}

absl::StatusOr<SampleResult> SamplerChain::Sample(
    absl::Span<const float> logits, SamplingContext& ctx,
    const SampleOptions& options) {
  if (logits.empty()) {
    return absl::InvalidArgumentError("logits are empty");
  }
  if (options.vocab_size > 0 &&
      static_cast<int64_t>(logits.size()) != options.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits length ", logits.size(),
                     " differs from the vocabulary size ", options.vocab_size));
  }
  if (logits.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits length ", logits.size(), " exceeds ", INT32_MAX));
  }
  if (options.top_n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_n = ", options.top_n, " must be >= 0"));
  }
  if (const int64_t bad = FirstInvalid(logits); bad >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits[", bad, "] = ", logits[bad],
                     " is invalid (NaN and +inf are rejected; -inf bans)"));
  }
  if (stages_.empty() || !stages_.back()->IsSelector()) {
    return absl::FailedPreconditionError(
        "sampler chain does not end with a selector");
  }

  SampleResult result;
  // Stages run on the contiguous dense_logits_ as long as they can (see
  // SamplerStage::ApplyDense); the first one that cannot gets materialised
  // candidates. A selector may pick straight from the dense logits.
  dense_logits_.assign(logits.begin(), logits.end());
  candidates_.log_normalizer = std::numeric_limits<double>::quiet_NaN();
  const absl::Span<float> dense(dense_logits_);
  bool is_dense = true;
  bool selected_dense = false;
  using Clock = std::chrono::steady_clock;
  const bool timed = options.trace || options.stage_timer != nullptr;
  for (size_t i = 0; i < stages_.size(); ++i) {
    SamplerStage& stage = *stages_[i];
    const Clock::time_point start = timed ? Clock::now() : Clock::time_point();
    if (is_dense) {
      const DenseApply outcome = stage.ApplyDense(dense, candidates_, ctx);
      if (outcome == DenseApply::kUnsupported) {
        FillCandidates(dense, candidates_);
        is_dense = false;
        stage.Apply(candidates_, ctx);
      } else if (outcome == DenseApply::kReduced) {
        is_dense = false;
      } else if (outcome == DenseApply::kSelected) {
        if (i + 1 != stages_.size()) {
          return absl::InternalError(absl::StrCat(
              "stage '", stage.Name(), "' selected before the chain's end"));
        }
        selected_dense = true;
      }
    } else {
      stage.Apply(candidates_, ctx);
    }
    const double micros =
        timed ? std::chrono::duration<double, std::micro>(Clock::now() - start)
                    .count()
              : 0.0;
    if (options.stage_timer != nullptr) {
      options.stage_timer->Record(i, stage.Name(), micros * 1e-6);
    }
    if (options.trace) {
      if (is_dense) {
        RecordDenseTrace(stage.Name(), dense, options.trace_top, micros,
                         result);
      } else {
        RecordTrace(stage.Name(), candidates_, options.trace_top, micros,
                    result);
      }
    }
    if (!is_dense && candidates_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no candidates left after stage #", i, " '",
                       stage.Name(), "': every token was removed"));
    }
  }
  const size_t top_n = static_cast<size_t>(options.top_n);
  if (is_dense && !selected_dense) {
    // Only reachable if a selector declined both paths; keep it correct.
    FillCandidates(dense, candidates_);
    is_dense = false;
  }
  const int64_t selected = candidates_.selected;
  const int64_t final_size = is_dense
                                 ? static_cast<int64_t>(dense.size())
                                 : static_cast<int64_t>(candidates_.size());
  if (selected < 0 || selected >= final_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "selector '", stages_.back()->Name(),
        "' found no token with nonzero probability (every candidate is "
        "banned)"));
  }
  // In the dense layout the selected index is the token id.
  result.token =
      is_dense ? static_cast<TokenId>(selected) : candidates_.data[selected].id;
  result.candidates = final_size;

  auto report = [&](double lse, float logit,
                    const std::vector<TokenData>& top) {
    result.logprob = static_cast<float>(logit - lse);
    for (const TokenData& d : top) {
      result.top.push_back({d.id, static_cast<float>(d.logit - lse)});
    }
  };
  top_scratch_.clear();
  if (options.logprob_mode == LogprobMode::kRaw) {
    if (top_n > 0) TopOfLogits(logits, top_n, &top_scratch_);
    report(LogSumExp(logits), logits[result.token], top_scratch_);
  } else if (is_dense) {
    if (top_n > 0) TopOfLogits(dense, top_n, &top_scratch_);
    const double lse = std::isnan(candidates_.log_normalizer)
                           ? LogSumExp(dense)
                           : candidates_.log_normalizer;
    report(lse, dense[result.token], top_scratch_);
  } else {
    if (top_n > 0) TopByLogit(candidates_, top_n, &top_scratch_);
    report(LogSumExp(candidates_), candidates_.data[selected].logit,
           top_scratch_);
  }
  if (options.accept) Accept(result.token);
  return result;
}

absl::StatusOr<std::unique_ptr<SamplerChain>> BuildChain(
    const ChainSpec& spec) {
  if (spec.empty()) {
    return absl::InvalidArgumentError(
        "sampler chain is empty: it must end with a selector (greedy, dist "
        "or mirostat_v2)");
  }
  if (spec.size() > kMaxChainStages) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampler chain has ", spec.size(), " stages; at most ",
                     kMaxChainStages, " are allowed"));
  }
  auto chain = std::make_unique<SamplerChain>();
  for (size_t i = 0; i < spec.size(); ++i) {
    absl::StatusOr<std::unique_ptr<SamplerStage>> stage = BuildStage(spec[i]);
    if (!stage.ok()) {
      return absl::Status(
          stage.status().code(),
          absl::StrCat("chain stage #", i, ": ", stage.status().message()));
    }
    const bool last = i + 1 == spec.size();
    if ((*stage)->IsSelector() && !last) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chain stage #", i, ": selector '", spec[i].stage,
          "' must be the last stage (the chain has ", spec.size(), " stages)"));
    }
    if (!(*stage)->IsSelector() && last) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chain must end with a selector (greedy, dist or mirostat_v2); "
          "its last stage #",
          i, " is the filter '", spec[i].stage, "'"));
    }
    chain->Add(*std::move(stage));
  }
  return chain;
}

ChainSpec DefaultChainSpec() {
  return {
      {"repetition_penalty", {{"penalty", 1.0}, {"last_n", int64_t{64}}}},
      {"presence_penalty", {{"penalty", 0.0}}},
      {"frequency_penalty", {{"penalty", 0.0}}},
      {"top_k", {{"k", int64_t{40}}}},
      {"top_p", {{"p", 0.95}}},
      {"min_p", {{"p", 0.05}}},
      {"temperature", {{"temperature", 0.8}}},
      {"dist", {}},
  };
}

}  // namespace fm::sampler
