// ModelMirror: applying session ops to a local copy of the token sequences,
// and the one-request rebuild of a lost session.
#include "services/gateway/model_mirror.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fm::gateway {

void ModelMirror::Apply(const fm::v1::SessionRequest& request) {
  for (const fm::v1::SequenceOp& op : request.ops()) {
    switch (op.op_case()) {
      case fm::v1::SequenceOp::kAppend: {
        std::vector<int32_t>& seq = sequences_[op.append().sequence_id()];
        seq.insert(seq.end(), op.append().token_ids().begin(),
                   op.append().token_ids().end());
        break;
      }
      case fm::v1::SequenceOp::kFork: {
        const auto source = sequences_.find(op.fork().source_sequence_id());
        if (source == sequences_.end()) break;  // the model rejects it too
        const size_t length =
            op.fork().length() <= 0
                ? source->second.size()
                : std::min(source->second.size(),
                           static_cast<size_t>(op.fork().length()));
        sequences_[op.fork().new_sequence_id()] = std::vector<int32_t>(
            source->second.begin(), source->second.begin() + length);
        break;
      }
      case fm::v1::SequenceOp::kDrop:
        sequences_.erase(op.drop().sequence_id());
        break;
      case fm::v1::SequenceOp::kTruncate: {
        const auto seq = sequences_.find(op.truncate().sequence_id());
        if (seq != sequences_.end() && op.truncate().length() >= 0 &&
            static_cast<size_t>(op.truncate().length()) < seq->second.size()) {
          seq->second.resize(op.truncate().length());
        }
        break;
      }
      case fm::v1::SequenceOp::OP_NOT_SET:
        break;
    }
  }
}

absl::StatusOr<ModelMirror::Rebuild> ModelMirror::MakeRebuild(
    const fm::v1::LogitsFormat& logits_format) const {
  Rebuild rebuild;
  *rebuild.request.mutable_logits_format() = logits_format;
  if (sequences_.empty()) return rebuild;
  // The longest prefix every sequence shares (the prompt, at least).
  const std::vector<int32_t>& first = sequences_.begin()->second;
  size_t shared = first.size();
  for (const auto& [id, tokens] : sequences_) {
    const auto end = tokens.begin() + std::min(shared, tokens.size());
    shared = std::mismatch(tokens.begin(), end, first.begin()).first -
             tokens.begin();
  }
  int results = 0;
  auto append = [&](int32_t id, std::vector<int32_t>::const_iterator begin,
                    std::vector<int32_t>::const_iterator end) {
    fm::v1::AppendOp* op = rebuild.request.add_ops()->mutable_append();
    op->set_sequence_id(id);
    op->mutable_token_ids()->Assign(begin, end);
    rebuild.result_of[id] = results++;
  };
  const int32_t base = sequences_.begin()->first;
  if (shared == 0) {  // nothing shared: every sequence on its own
    for (const auto& [id, tokens] : sequences_) {
      if (tokens.empty()) {
        return absl::InternalError(absl::StrCat(
            "model session rebuild: sequence ", id, " has no tokens"));
      }
      append(id, tokens.begin(), tokens.end());
    }
    return rebuild;
  }
  // The shared prefix, every fork of it, then every sequence's own tokens:
  // two forward passes (the model starts a new pass at a fork that follows
  // an append), whatever the number of sequences.
  append(base, first.begin(), first.begin() + shared);
  for (const auto& [id, tokens] : sequences_) {
    if (id == base) continue;
    fm::v1::ForkOp* fork = rebuild.request.add_ops()->mutable_fork();
    fork->set_source_sequence_id(base);
    fork->set_new_sequence_id(id);
    rebuild.result_of[id] = 0;  // until it has tokens of its own
  }
  for (const auto& [id, tokens] : sequences_) {
    if (id != base && tokens.size() > shared) {
      append(id, tokens.begin() + shared, tokens.end());
    }
  }
  if (first.size() > shared) append(base, first.begin() + shared, first.end());
  return rebuild;
}

absl::StatusOr<fm::v1::SessionResponse> ModelMirror::AnswerFromRebuild(
    const fm::v1::SessionRequest& failed, const Rebuild& rebuild,
    const fm::v1::SessionResponse& rebuilt) {
  fm::v1::SessionResponse answer;
  answer.set_request_id(failed.request_id());
  for (const fm::v1::SequenceOp& op : failed.ops()) {
    if (!op.has_append()) continue;
    const int32_t id = op.append().sequence_id();
    const auto index = rebuild.result_of.find(id);
    if (index == rebuild.result_of.end() ||
        index->second >= rebuilt.results_size() ||
        rebuilt.results(index->second).logits_size() == 0) {
      return absl::InternalError(
          absl::StrCat("model session rebuild: no logits for sequence ", id));
    }
    const fm::v1::SequenceLogits& from = rebuilt.results(index->second);
    fm::v1::SequenceLogits* to = answer.add_results();
    to->set_sequence_id(id);
    to->set_length(from.length());
    *to->add_logits() = from.logits(from.logits_size() - 1);
  }
  return answer;
}

}  // namespace fm::gateway
