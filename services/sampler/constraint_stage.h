// ConstraintStage: a filter that bans every token that cannot continue
// text matching a constraint (and end-of-generation ids until the text is
// a whole match). The grammar is compiled once when the stage is built;
// bound to a session's vocabulary it shares the compiled constraint of the
// cache, and each copy (a sequence, a fork) keeps only its own state,
// advanced with every generated token and rebuilt from the history when a
// sequence is resumed in a new session.
#ifndef FM_SERVICES_SAMPLER_CONSTRAINT_STAGE_H_
#define FM_SERVICES_SAMPLER_CONSTRAINT_STAGE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/constraint/byte_grammar.h"
#include "common/constraint/compiled_constraint.h"
#include "services/sampler/sampler_stage.h"
#include "services/sampler/stage_registry.h"

namespace fm::sampler {

// A text walked through a constraint (see ConstraintStage::Walk).
struct ConstraintWalk {
  bool complete = false;
  int32_t rejected_at = -1;     // the first refused token, or -1
  std::vector<double> mask_us;  // per mask computed, in walk order
};

class ConstraintStage final : public SamplerStage {
 public:
  // `name` points at static storage (the registry name). `content_key`
  // identifies the constraint's source (cache key).
  ConstraintStage(absl::string_view name,
                  std::shared_ptr<const constraint::ByteGrammar> grammar,
                  std::string content_key);

  absl::string_view Name() const override { return name_; }
  void Apply(TokenCandidates& candidates, SamplingContext& ctx) override;
  DenseApply ApplyDense(absl::Span<float> logits, TokenCandidates& candidates,
                        SamplingContext& ctx) override;
  void Accept(TokenId token) override;
  void AcceptPrompt(TokenId token) override;
  void Reset() override;
  absl::Status BindVocabulary(const SessionVocabulary& vocabulary) override;
  bool AllowedNext(int64_t vocab_size, std::string* bitmap) override;
  // Walks `tokens` as generated text from the current state, exactly as
  // sampling would mask them, timing each mask (and the final one that
  // decides whether the text is complete). Stops at a refused token.
  ConstraintWalk Walk(absl::Span<const TokenId> tokens);
  std::unique_ptr<SamplerStage> Clone() const override {
    return std::make_unique<ConstraintStage>(*this);
  }

 private:
  // Whether `token` may come next; false for everything while unbound
  // (fail closed).
  bool Allows(const constraint::TokenMask* mask, TokenId token) const;
  std::shared_ptr<const constraint::TokenMask> CurrentMask();

  absl::string_view name_;
  std::shared_ptr<const constraint::ByteGrammar> grammar_;
  std::string content_key_;
  std::shared_ptr<constraint::CompiledConstraint> compiled_;  // once bound
  constraint::ConstraintState state_;
  // No token with text yet, in the prompt or generated: the decoder is at
  // the start of the text (see TokenVocabulary::changed_at_text_start).
  bool at_text_start_ = true;
};

// The declaration of a constraint stage: `compile` turns validated
// parameters into the grammar (its errors refuse the spec); `source` gives
// the text that identifies the constraint for the compiled-constraint cache
// (exact: two constraints share a compiled form only when they are equal).
StageInfo ConstraintStageInfo(
    const char* name, std::string description, std::vector<ParamInfo> params,
    std::function<absl::StatusOr<constraint::ByteGrammar>(const StageParams&)>
        compile,
    std::function<std::string(const StageParams&)> source);

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_CONSTRAINT_STAGE_H_
