// DecodeLoop: prefill, then sample -> stream -> forward until done.
#include "services/gateway/decode_loop.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fm::gateway {

DecodeLoop::DecodeLoop(const GenerationPlan& plan, ModelSession* model,
                       SamplerSession* sampler,
                       const grpc::CallbackServerContext& server_ctx,
                       absl::Time start, ResponseSink* sink)
    : plan_(plan),
      model_(model),
      sampler_(sampler),
      server_ctx_(server_ctx),
      sink_(sink) {
  for (int32_t i = 0; i < plan.n; ++i) {
    sequences_.push_back(std::make_unique<GeneratedSequence>(i, plan, start));
  }
}

absl::Status DecodeLoop::Run() {
  FM_RETURN_IF_ERROR(Prefill());
  for (bool first_step = true;; first_step = false) {
    if (server_ctx_.IsCancelled()) {
      return absl::CancelledError("the client cancelled the generation");
    }
    FM_ASSIGN_OR_RETURN(std::vector<GeneratedSequence*> sampled, Sample());
    bool any_live = false;
    for (const GeneratedSequence* seq : sampled) any_live |= seq->live();
    if (!any_live) return absl::OkStatus();  // every sequence has finished
    FM_RETURN_IF_ERROR(Forward(sampled, first_step));
  }
}

absl::Status DecodeLoop::Prefill() {
  FM_ASSIGN_OR_RETURN(fm::v1::Logits logits, model_->Prefill(plan_.prompt));
  for (auto& seq : sequences_) {
    FM_RETURN_IF_ERROR(seq->Prime());
    seq->logits() = logits;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GeneratedSequence*>> DecodeLoop::Sample() {
  fm::v1::SamplerSessionRequest step;
  std::vector<GeneratedSequence*> sampled;
  std::vector<absl::Span<const TokenId>> generated;
  for (auto& seq : sequences_) {
    if (!seq->live()) continue;
    fm::v1::SessionStepInput* in = step.mutable_step()->add_inputs();
    in->set_sequence_index(seq->index());
    *in->mutable_logits() = std::move(seq->logits());
    sampled.push_back(seq.get());
    generated.push_back(seq->generated());
  }
  FM_ASSIGN_OR_RETURN(fm::v1::SamplerSessionResponse picked,
                      sampler_->Step(step, generated));
  if (picked.tokens_size() != static_cast<int>(sampled.size())) {
    return absl::InternalError(
        absl::StrCat("sampler: answered ", picked.tokens_size(), " tokens for ",
                     sampled.size(), " sequences"));
  }
  for (size_t k = 0; k < sampled.size(); ++k) {
    fm::v1::SampledToken* token = picked.mutable_tokens(static_cast<int>(k));
    if (!sink_->Write(sampled[k]->Accept(*token))) {
      return absl::CancelledError("the client went away");
    }
    sampled[k]->next_allowed_ids() =
        std::move(*token->mutable_next_allowed_ids());
  }
  return sampled;
}

absl::Status DecodeLoop::Forward(const std::vector<GeneratedSequence*>& sampled,
                                 bool first_step) {
  fm::v1::SessionRequest next;
  std::vector<fm::v1::SequenceOp> appends, drops;
  for (GeneratedSequence* seq : sampled) {
    // Sequence 0 holds the prompt; the others exist once forked from it.
    const bool exists = !first_step || seq->index() == 0;
    if (seq->live()) {
      if (!exists) {  // its first token: share the prompt's KV cache
        fm::v1::ForkOp* fork = next.add_ops()->mutable_fork();
        fork->set_source_sequence_id(0);
        fork->set_new_sequence_id(seq->index());
      }
      fm::v1::SequenceOp op;
      op.mutable_append()->set_sequence_id(seq->index());
      op.mutable_append()->add_token_ids(seq->generated().back());
      // The model's head among them (see ModelSession::FormatFor).
      op.mutable_append()->set_allowed_ids(std::move(seq->next_allowed_ids()));
      appends.push_back(std::move(op));
    } else if (exists) {
      fm::v1::SequenceOp op;
      op.mutable_drop()->set_sequence_id(seq->index());
      drops.push_back(std::move(op));
    }
  }
  // Forks first (a dropped sequence 0 is still their source), then the
  // appends whose results come back in order, then the drops.
  for (auto& op : appends) *next.add_ops() = std::move(op);
  for (auto& op : drops) *next.add_ops() = std::move(op);
  FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse forwarded,
                      model_->Call(std::move(next)));
  int r = 0;
  for (GeneratedSequence* seq : sampled) {
    if (!seq->live()) continue;
    if (r >= forwarded.results_size() ||
        forwarded.results(r).logits_size() != 1) {
      return absl::InternalError("model: fewer results than appends");
    }
    seq->logits() =
        std::move(*forwarded.mutable_results(r++)->mutable_logits(0));
  }
  return absl::OkStatus();
}

}  // namespace fm::gateway
