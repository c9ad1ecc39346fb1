// The SamplerStage interface (after llama.cpp's llama_sampler_i): one step
// of a chain, a filter that reshapes candidates or a selector that picks.
#ifndef FM_SERVICES_SAMPLER_SAMPLER_STAGE_H_
#define FM_SERVICES_SAMPLER_SAMPLER_STAGE_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/sampler/rng.h"
#include "services/sampler/session_vocabulary.h"
#include "services/sampler/token_candidates.h"

namespace fm::sampler {

// What a stage may know about the current draw besides the candidates.
struct SamplingContext {
  // Keyed by (seed, sequence, step); selectors and random filters (xtc)
  // draw from it in chain order, so a chain's draws are reproducible.
  Rng rng;
  // Decode step (0 for the first generated token); informational.
  uint64_t step = 0;
};

// What ApplyDense did; see SamplerStage::ApplyDense.
enum class DenseApply {
  kUnsupported,  // Not implemented here: call Apply on materialised data.
  kStillDense,   // Updated `logits` in place; the set is still the vocabulary.
  kReduced,      // Wrote the (smaller) result into `candidates`.
  kSelected,     // A selector chose `candidates.selected`: here a token id
                 // (= its index in `logits`), or -1; `logits` unchanged.
};

// A stage is built (and its parameters validated) by the registry; Apply
// never fails. Instances are not thread-safe: a chain (and its stages)
// belongs to one generation at a time; use Clone() for another one.
class SamplerStage {
 public:
  virtual ~SamplerStage() = default;

  // The registry name ("top_k"). Points at static storage.
  virtual absl::string_view Name() const = 0;

  // Reshapes, rescales, reorders or shrinks `candidates` (a filter), or sets
  // `candidates.selected` (a selector). Must tolerate an empty set and -inf
  // logits; must clear `candidates.dense` / `.sorted` when it invalidates them.
  virtual void Apply(TokenCandidates& candidates, SamplingContext& ctx) = 0;

  // Optional fast path while the candidates are still the whole vocabulary
  // in id order: logits[i] is the current logit of token i (no other state).
  // The stage either updates `logits` in place and returns kStillDense, or
  // fills `candidates` (data, sorted, dense = false, selected = -1) with
  // the reduced set and returns kReduced; a selector may instead pick from
  // `logits` and return kSelected. It must give exactly what Apply gives on
  // the equivalent dense TokenCandidates. The default returns
  // kUnsupported; the chain then materialises the candidates and calls
  // Apply. This keeps penalties O(history) and top_k / min_p one
  // vectorised pass over contiguous floats.
  virtual DenseApply ApplyDense(absl::Span<float> logits,
                                TokenCandidates& candidates,
                                SamplingContext& ctx) {
    return DenseApply::kUnsupported;
  }

  // History hook: the token that was chosen (or replayed from the request's
  // history). Stateless stages ignore it.
  virtual void Accept(TokenId token) {}

  // A token of the prompt (history that was not generated). Penalties see
  // it like any token; a constraint, which applies to the generated text
  // only, does not.
  virtual void AcceptPrompt(TokenId token) { Accept(token); }

  // Called once on a session's copy of the chain, before any token, with
  // the vocabulary its logits are over. FAILED_PRECONDITION or UNAVAILABLE
  // when the stage needs what the sampler lacks.
  virtual absl::Status BindVocabulary(const SessionVocabulary& vocabulary) {
    return absl::OkStatus();
  }

  // Forgets all history and adaptive state (a new generation).
  virtual void Reset() {}

  // A deep copy, including history and adaptive state. Never null.
  virtual std::unique_ptr<SamplerStage> Clone() const = 0;

  // True for stages that set `selected` (greedy, dist, mirostat_v2); a
  // chain must end with one.
  virtual bool IsSelector() const { return false; }

  // For a stage that bans every token outside a set it knows before the
  // step (StageInfo::reports_allowed): that set for the next step, over
  // `vocab_size` ids, as a bitmap (bit i % 8 of byte i / 8; exactly the
  // ids Apply would leave). False, `bitmap` empty or untouched, for other
  // stages and when the set is empty.
  virtual bool AllowedNext(int64_t vocab_size, std::string* bitmap) {
    return false;
  }
};

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_SAMPLER_STAGE_H_
