// ConstraintStage: masks applied to dense logits word by word, or to any
// candidate set token by token.
#include "services/sampler/constraint_stage.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/sampler/candidate_ops.h"

namespace fm::sampler {

ConstraintStage::ConstraintStage(
    absl::string_view name,
    std::shared_ptr<const constraint::ByteGrammar> grammar,
    std::string content_key)
    : name_(name),
      grammar_(std::move(grammar)),
      content_key_(std::move(content_key)) {}

absl::Status ConstraintStage::BindVocabulary(
    const SessionVocabulary& vocabulary) {
  if (vocabulary.tokens == nullptr || vocabulary.cache == nullptr) {
    return absl::Status(vocabulary.missing_code,
                        absl::StrCat("stage '", name_,
                                     "' needs the tokenizer's vocabulary, "
                                     "and this sampler has none: ",
                                     vocabulary.missing_reason));
  }
  compiled_ = vocabulary.cache->Get(content_key_, *grammar_, vocabulary.tokens,
                                    vocabulary.trie);
  state_ = compiled_->Initial();
  return absl::OkStatus();
}

std::shared_ptr<const constraint::TokenMask> ConstraintStage::CurrentMask() {
  if (compiled_ == nullptr) return nullptr;
  return compiled_->Mask(state_);
}

bool ConstraintStage::Allows(const constraint::TokenMask* mask,
                             TokenId token) const {
  if (mask == nullptr || token < 0 || token >= compiled_->vocabulary().size()) {
    return false;
  }
  if (!mask->allows(token)) return false;
  if (at_text_start_) {
    const auto& changed = compiled_->vocabulary().changed_at_text_start;
    return !std::binary_search(changed.begin(), changed.end(), token);
  }
  return true;
}

void ConstraintStage::Apply(TokenCandidates& candidates, SamplingContext& ctx) {
  const std::shared_ptr<const constraint::TokenMask> mask = CurrentMask();
  bool changed = false;
  for (TokenData& d : candidates.data) {
    if (d.logit != kNegInf && !Allows(mask.get(), d.id)) {
      d.logit = kNegInf;
      changed = true;
    }
  }
  // Banned entries stay (at -inf); the order by logit still holds for the
  // rest, but a sorted set with -inf in the middle is not sorted.
  if (changed) candidates.sorted = false;
}

DenseApply ConstraintStage::ApplyDense(absl::Span<float> logits,
                                       TokenCandidates& candidates,
                                       SamplingContext& ctx) {
  const std::shared_ptr<const constraint::TokenMask> mask = CurrentMask();
  if (mask == nullptr) {
    std::fill(logits.begin(), logits.end(), kNegInf);
    return DenseApply::kStillDense;
  }
  // Ids past the tokenizer's vocabulary (a model's padding rows) have no
  // text: banned.
  const size_t n = std::min(
      logits.size(), static_cast<size_t>(compiled_->vocabulary().size()));
  std::fill(logits.begin() + n, logits.end(), kNegInf);
  // 64 tokens per word: a fully allowed word costs one compare.
  for (size_t w = 0; w * 64 < n; ++w) {
    const uint64_t bits = mask->words[w];
    if (bits == ~uint64_t{0}) continue;
    const size_t end = std::min(n, w * 64 + 64);
    for (size_t i = w * 64; i < end; ++i) {
      if (!((bits >> (i & 63)) & 1)) logits[i] = kNegInf;
    }
  }
  if (at_text_start_) {
    for (TokenId id : compiled_->vocabulary().changed_at_text_start) {
      if (static_cast<size_t>(id) < n) logits[id] = kNegInf;
    }
  }
  return DenseApply::kStillDense;
}

bool ConstraintStage::AllowedNext(int64_t vocab_size, std::string* bitmap) {
  const std::shared_ptr<const constraint::TokenMask> mask = CurrentMask();
  if (mask == nullptr) return false;  // unbound: Apply bans everything
  bitmap->assign(static_cast<size_t>((vocab_size + 7) / 8), '\0');
  // What ApplyDense leaves: the mask's ids within the tokenizer's
  // vocabulary, less those that change at the start of the text.
  const size_t n =
      std::min(static_cast<size_t>(vocab_size),
               static_cast<size_t>(compiled_->vocabulary().size()));
  // The mask's words, little-endian (as this host is): bit i of byte i / 8.
  std::memcpy(bitmap->data(), mask->words.data(), (n + 7) / 8);
  if (n % 8 != 0) (*bitmap)[n / 8] &= static_cast<char>((1 << (n % 8)) - 1);
  if (at_text_start_) {
    for (TokenId id : compiled_->vocabulary().changed_at_text_start) {
      if (static_cast<size_t>(id) < n) {
        (*bitmap)[id / 8] &= static_cast<char>(~(1 << (id % 8)));
      }
    }
  }
  // Nothing allowed (a failed state): no set, so that the step gets the
  // dense logits and fails as it would without one (no candidate left),
  // rather than on an empty head.
  if (std::all_of(bitmap->begin(), bitmap->end(),
                  [](char c) { return c == 0; })) {
    bitmap->clear();
    return false;
  }
  return true;
}

void ConstraintStage::Accept(TokenId token) {
  if (compiled_ == nullptr) return;
  compiled_->Advance(state_, token);
  if (token >= 0 && token < compiled_->vocabulary().size() &&
      !compiled_->vocabulary().bytes[token].empty()) {
    at_text_start_ = false;
  }
}

void ConstraintStage::AcceptPrompt(TokenId token) {
  // The constraint applies to the generated text only; the prompt matters
  // only for whether the text has begun.
  if (compiled_ == nullptr) return;
  if (token >= 0 && token < compiled_->vocabulary().size() &&
      !compiled_->vocabulary().bytes[token].empty()) {
    at_text_start_ = false;
  }
}

void ConstraintStage::Reset() {
  if (compiled_ != nullptr) state_ = compiled_->Initial();
  at_text_start_ = true;
}

ConstraintWalk ConstraintStage::Walk(absl::Span<const TokenId> tokens) {
  ConstraintWalk walk;
  auto timed_mask = [&] {
    const auto start = std::chrono::steady_clock::now();
    std::shared_ptr<const constraint::TokenMask> mask = CurrentMask();
    walk.mask_us.push_back(std::chrono::duration<double, std::micro>(
                               std::chrono::steady_clock::now() - start)
                               .count());
    return mask;
  };
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::shared_ptr<const constraint::TokenMask> mask = timed_mask();
    if (!Allows(mask.get(), tokens[i])) {
      walk.rejected_at = static_cast<int32_t>(i);
      return walk;
    }
    Accept(tokens[i]);
  }
  timed_mask();
  walk.complete = compiled_ != nullptr && compiled_->Complete(state_);
  return walk;
}

StageInfo ConstraintStageInfo(
    const char* name, std::string description, std::vector<ParamInfo> params,
    std::function<absl::StatusOr<constraint::ByteGrammar>(const StageParams&)>
        compile,
    std::function<std::string(const StageParams&)> source) {
  StageInfo info(name, std::move(description), StageKind::kFilter,
                 std::move(params), nullptr);
  info.fallible_factory = [name, compile = std::move(compile),
                           source = std::move(source)](const StageParams& p)
      -> absl::StatusOr<std::unique_ptr<SamplerStage>> {
    absl::StatusOr<constraint::ByteGrammar> grammar = compile(p);
    if (!grammar.ok()) return grammar.status();
    return std::make_unique<ConstraintStage>(
        name,
        std::make_shared<const constraint::ByteGrammar>(*std::move(grammar)),
        absl::StrCat(name, std::string(1, '\0'), source(p)));
  };
  info.needs_vocabulary = true;
  info.reports_allowed = true;
  return info;
}

}  // namespace fm::sampler
