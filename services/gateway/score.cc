// RunScore: tokenization of prompt and continuations, one model session,
// log-softmax over the returned logits.
#include "services/gateway/score.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/logits_codec.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/utf8.h"
#include "services/gateway/downstream_context.h"
#include "services/gateway/exchange.h"
#include "services/gateway/prompt.h"

namespace fm::gateway {
namespace {

constexpr int kMaxContinuations = 64;
// Continuations scored per forward pass (forks of the prompt).
constexpr int kChunk = 8;
// Logits one chunk may ask for (the model refuses more than 48 MiB).
constexpr int64_t kMaxChunkLogitsBytes = 40 << 20;

// log-softmax of `logits` at `id`, and the top `k` (id, logprob) pairs.
float LogProb(const std::vector<float>& logits, int32_t id, int k,
              fm::v1::TokenScore* out) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max);
  const double log_z = max + std::log(sum);
  if (k > 0) {
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    k = std::min<int>(k, static_cast<int>(order.size()));
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int32_t a, int32_t b) {
                        return logits[a] > logits[b] ||
                               (logits[a] == logits[b] && a < b);
                      });
    for (int i = 0; i < k; ++i) {
      fm::v1::TokenLogprob* t = out->add_top_logprobs();
      t->set_id(order[i]);
      t->set_logprob(static_cast<float>(logits[order[i]] - log_z));
    }
  }
  return static_cast<float>(logits[id] - log_z);
}

}  // namespace

absl::Status RunScore(const Backends& backends, const GenerationLimits& limits,
                      const grpc::CallbackServerContext& server_ctx,
                      const fm::v1::ScoreRequest& request,
                      fm::v1::ScoreResponse* response) {
  FM_ASSIGN_OR_RETURN(auto facts, backends.Facts());
  const int n = request.continuations_size();
  if (n < 1 || n > kMaxContinuations) {
    return absl::InvalidArgumentError(absl::StrCat(
        "continuations has ", n, " entries; it must be in [1, ",
        kMaxContinuations, "]"));
  }
  if (request.top_logprobs() < 0 ||
      request.top_logprobs() > limits.max_top_logprobs) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_logprobs = ", request.top_logprobs(),
                     " is outside [0, ", limits.max_top_logprobs, "]"));
  }
  const bool add_bos = !request.has_add_bos() || request.add_bos();
  const bool ids_given = request.prompt_case() == fm::v1::ScoreRequest::kIds;
  if (!ids_given) {
    FM_RETURN_IF_ERROR(ValidateUtf8(request.text(), "prompt text"));
  }
  FM_ASSIGN_OR_RETURN(
      std::vector<int32_t> prompt,
      PromptIds(backends, *facts, server_ctx, limits.default_timeout,
                ids_given ? &request.ids() : nullptr, request.text(), add_bos));
  // The prompt as text, to encode prompt + continuation in one piece.
  std::string prompt_text = request.text();
  if (ids_given) {
    FM_ASSIGN_OR_RETURN(prompt_text, facts->vocab->Decode(prompt));
  }
  // Continuation ids: the tokens the prompt+continuation text adds after
  // the prompt's own, so that the split is the one the model would see.
  std::vector<std::vector<int32_t>> conts(n);
  for (int i = 0; i < n; ++i) {
    const std::string& text = request.continuations(i);
    if (text.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("continuations[", i, "] is empty"));
    }
    FM_RETURN_IF_ERROR(ValidateUtf8(text, absl::StrCat("continuations[", i, "]")));
    FM_ASSIGN_OR_RETURN(std::vector<int32_t> full,
                        EncodeText(backends, server_ctx, limits.default_timeout,
                                   prompt_text + text, add_bos));
    if (full.size() > prompt.size() &&
        std::equal(prompt.begin(), prompt.end(), full.begin())) {
      conts[i].assign(full.begin() + prompt.size(), full.end());
    } else {  // the boundary merged into one token: score the text alone
      FM_ASSIGN_OR_RETURN(conts[i],
                          EncodeText(backends, server_ctx,
                                     limits.default_timeout, text, false));
    }
    if (conts[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("continuations[", i, "] encodes to no tokens"));
    }
    const int64_t total = static_cast<int64_t>(prompt.size()) + conts[i].size();
    if (total > facts->model.context_length()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt tokens (", prompt.size(), ") + continuations[", i,
          "] tokens (", conts[i].size(), ") exceed the model's context length ",
          facts->model.context_length()));
    }
  }

  ModelExchange model(DownstreamContext(server_ctx, limits.default_timeout),
                      "model");
  model.Open(backends.model()->Session(model.ctx()));
  fm::v1::SessionRequest prefill;
  auto* a = prefill.add_ops()->mutable_append();
  a->set_sequence_id(0);
  a->mutable_token_ids()->Assign(prompt.begin(), prompt.end());
  FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse first, model.Call(prefill));
  if (first.results_size() != 1 || first.results(0).logits_size() != 1) {
    return absl::InternalError("model: malformed prefill response");
  }
  std::vector<float> prompt_logits;
  FM_RETURN_IF_ERROR(DecodeLogits(first.results(0).logits(0),
                                  facts->model.vocab_size(), &prompt_logits));

  // Continuations in chunks of at most kChunk forks of the prompt (each
  // chunk is one batched forward pass), dropped again after, so a session
  // never holds more than kChunk + 1 sequences, and each chunk's logits
  // stay within one response.
  const int64_t vocab = facts->model.vocab_size();
  const int64_t max_positions = std::max<int64_t>(1, kMaxChunkLogitsBytes / (vocab * 4));
  for (int i = 0; i < n; ++i) {
    if (static_cast<int64_t>(conts[i].size()) > max_positions) {
      return absl::InvalidArgumentError(absl::StrCat(
          "continuations[", i, "] has ", conts[i].size(),
          " tokens; at most ", max_positions, " can be scored at vocabulary ",
          vocab));
    }
  }
  std::vector<float> logits;
  for (int begin = 0, end = 0; begin < n; begin = end) {
    int64_t positions = 0;
    for (end = begin; end < n && end - begin < kChunk &&
                      positions + static_cast<int64_t>(conts[end].size()) <=
                          max_positions;
         ++end) {
      positions += static_cast<int64_t>(conts[end].size());
    }
    fm::v1::SessionRequest score;
    for (int i = begin; i < end; ++i) {
      auto* f = score.add_ops()->mutable_fork();
      f->set_source_sequence_id(0);
      f->set_new_sequence_id(i - begin + 1);
      auto* ap = score.add_ops()->mutable_append();
      ap->set_sequence_id(i - begin + 1);
      ap->mutable_token_ids()->Assign(conts[i].begin(), conts[i].end());
      ap->set_all_logits(true);
    }
    for (int i = begin; i < end; ++i) {
      score.add_ops()->mutable_drop()->set_sequence_id(i - begin + 1);
    }
    FM_ASSIGN_OR_RETURN(fm::v1::SessionResponse scored, model.Call(score));
    if (scored.results_size() != end - begin) {
      return absl::InternalError("model: wrong number of results");
    }
    for (int i = begin; i < end; ++i) {
      fm::v1::ContinuationScore* out = response->add_scores();
      out->set_text(request.continuations(i));
      double sum = 0;
      for (size_t j = 0; j < conts[i].size(); ++j) {
        // Token j is predicted by the position before it.
        if (j == 0) {
          logits = prompt_logits;
        } else if (static_cast<int>(j - 1) >=
                   scored.results(i - begin).logits_size()) {
          return absl::InternalError("model: fewer logits than positions");
        } else {
          FM_RETURN_IF_ERROR(DecodeLogits(
              scored.results(i - begin).logits(static_cast<int>(j - 1)),
              facts->model.vocab_size(), &logits));
        }
        fm::v1::TokenScore* t = out->add_tokens();
        t->set_id(conts[i][j]);
        t->set_text(facts->vocab->entry(conts[i][j]).text);
        const float lp = LogProb(logits, conts[i][j], request.top_logprobs(), t);
        t->set_logprob(lp);
        sum += lp;
      }
      const double mean = sum / conts[i].size();
      out->set_sum_logprob(sum);
      out->set_mean_logprob(mean);
      out->set_perplexity(std::exp(-mean));
    }
  }
  model.Close();

  std::vector<int32_t> ranking(n);
  std::iota(ranking.begin(), ranking.end(), 0);
  std::stable_sort(ranking.begin(), ranking.end(), [&](int32_t x, int32_t y) {
    return response->scores(x).sum_logprob() > response->scores(y).sum_logprob();
  });
  for (int r = 0; r < n; ++r) {
    response->add_ranking(ranking[r]);
    response->mutable_scores(ranking[r])->set_rank(r);
  }
  response->set_prompt_tokens(static_cast<int32_t>(prompt.size()));
  return absl::OkStatus();
}

}  // namespace fm::gateway
