// BpeTokenizer: added tokens, normalizer, pre-tokenizer, merges.
#include "services/tokenizer/bpe_tokenizer.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace fm::tokenizer {

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(
    std::vector<text::VocabEntry> entries, text::SpecialIds special,
    text::DecodeRules rules, BpePipeline pipeline) {
  const int64_t n = static_cast<int64_t>(entries.size());
  if (n == 0) return absl::InvalidArgumentError("the vocabulary is empty");
  if (pipeline.model == nullptr) {
    return absl::InvalidArgumentError("the tokenizer has no model");
  }
  if (absl::Status s = text::ValidateSpecialIds(special, n); !s.ok()) return s;
  std::vector<AddedToken> raw, normalized, control;
  for (AddedToken& t : pipeline.added_tokens) {
    if (t.id < 0 || t.id >= n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "added token '", t.content.substr(0, 64), "' has id ", t.id,
          ", outside the vocabulary [0, ", n, ")"));
    }
    if (t.special) {
      control.push_back(t);
    } else if (t.normalized && pipeline.normalizer != nullptr) {
      AddedToken copy = t;
      copy.content = pipeline.normalizer->Normalize(t.content);
      normalized.push_back(std::move(copy));
    } else {
      raw.push_back(t);
    }
  }
  std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
  tok->detokenizer_ = std::make_unique<text::VocabDetokenizer>(
      std::move(entries), special, rules);
  tok->raw_added_ = AddedTokenMatcher(raw);
  tok->normalized_added_ = AddedTokenMatcher(normalized);
  tok->SetSpecialTokens(control);
  tok->pipeline_ = std::move(pipeline);
  return tok;
}

absl::Status BpeTokenizer::EncodeText(absl::string_view input,
                                      bool at_text_start,
                                      std::vector<TokenId>* ids) const {
  for (const auto& stretch : raw_added_.Split(input)) {
    if (stretch.id >= 0) {
      ids->push_back(stretch.id);
      continue;
    }
    const bool stretch_at_start =
        at_text_start && stretch.text.data() == input.data();
    const std::string normalized =
        pipeline_.normalizer != nullptr
            ? pipeline_.normalizer->Normalize(stretch.text)
            : std::string(stretch.text);
    for (const auto& part : normalized_added_.Split(normalized)) {
      if (part.id >= 0) {
        ids->push_back(part.id);
        continue;
      }
      const bool part_at_start =
          stretch_at_start && part.text.data() == normalized.data();
      if (pipeline_.pre_tokenizer == nullptr) {
        pipeline_.model->Encode(part.text, ids);
        continue;
      }
      for (const Word& w : pipeline_.pre_tokenizer->Split(part.text, part_at_start)) {
        pipeline_.model->Encode(w.text, ids);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace fm::tokenizer
