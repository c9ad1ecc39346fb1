// CandidateSelection: plan, hold, score, rank, write.
#include "services/gateway/candidate_selection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "services/gateway/downstream_context.h"

namespace fm::gateway {
namespace {

constexpr size_t kMaxExtractBytes = 1024;

double Mean(const fm::v1::Candidate& c) {
  if (c.token_logprobs().empty()) {
    return -std::numeric_limits<double>::infinity();
  }
  double sum = 0;
  for (float lp : c.token_logprobs()) sum += lp;
  return sum / c.token_logprobs_size();
}

double Sum(const fm::v1::Candidate& c) {
  double sum = 0;
  for (float lp : c.token_logprobs()) sum += lp;
  return sum;
}

const char* MethodName(fm::v1::Selection::Method m) {
  switch (m) {
    case fm::v1::Selection::SUM_LOGPROB:
      return "sum logprob";
    case fm::v1::Selection::MAJORITY:
      return "majority";
    case fm::v1::Selection::VERIFIER:
      return "verifier";
    default:
      return "mean logprob";
  }
}

}  // namespace

absl::StatusOr<SelectionPlan> PlanSelection(
    const fm::v1::GenerateRequest& request, const GenerationLimits& limits,
    const std::function<fm::v1::VerifierService::Stub*(const std::string&)>&
        find_verifier) {
  SelectionPlan plan;
  const int32_t n = request.n() == 0 ? 1 : request.n();
  const fm::v1::Selection& s = request.select();
  if (request.best_of() == 0) {
    if (request.has_select()) {
      return absl::InvalidArgumentError(
          "select is set but best_of is 0 (select ranks best_of candidates)");
    }
    return plan;  // no selection
  }
  if (request.best_of() < n || request.best_of() > limits.max_n) {
    return absl::InvalidArgumentError(
        absl::StrCat("best_of = ", request.best_of(), " is outside [n = ", n,
                     ", ", limits.max_n, "]"));
  }
  plan.candidates = request.best_of();
  plan.returned = n;
  plan.method = s.method() == fm::v1::Selection::METHOD_UNSPECIFIED
                    ? fm::v1::Selection::MEAN_LOGPROB
                    : s.method();
  if (!fm::v1::Selection::Method_IsValid(plan.method)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "select.method = ", s.method(), " is not a Selection.Method"));
  }
  const bool majority = plan.method == fm::v1::Selection::MAJORITY;
  if (!majority && (!s.extract().empty() || s.trim() || s.ignore_case())) {
    return absl::InvalidArgumentError(
        "select.extract, trim and ignore_case apply to MAJORITY only");
  }
  if (!s.extract().empty()) {
    if (s.extract().size() > kMaxExtractBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("select.extract has ", s.extract().size(),
                       " bytes; at most ", kMaxExtractBytes));
    }
    auto regex = text::Regex::Create(s.extract());
    if (!regex.ok()) return Annotate(regex.status(), "select.extract");
    plan.extract = std::move(*regex);
  }
  plan.trim = s.trim();
  plan.ignore_case = s.ignore_case();
  const bool verifier = plan.method == fm::v1::Selection::VERIFIER;
  if (verifier != !s.verifier().empty()) {
    return absl::InvalidArgumentError(
        verifier ? "select.method VERIFIER needs select.verifier (a name)"
                 : "select.verifier applies to method VERIFIER only");
  }
  if (verifier) {
    plan.verifier_name = s.verifier();
    plan.verifier = find_verifier(s.verifier());
    if (plan.verifier == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "select.verifier '", s.verifier(),
          "' is not a verifier of this gateway (--verifier=NAME=ADDR)"));
    }
  }
  plan.keep_token_details = request.logprobs() || request.top_logprobs() > 0 ||
                            request.trace() ||
                            request.shadow_profiles_size() > 0;
  return plan;
}

SelectingSink::SelectingSink(const SelectionPlan& plan, ResponseSink* out)
    : plan_(plan), out_(out), held_(plan.candidates) {
  for (int32_t i = 0; i < plan.candidates; ++i) {
    held_[i].candidate.set_index(i);
    held_[i].candidate.set_sequence_index(-1);
  }
}

bool SelectingSink::Write(fm::v1::GenerateResponse response) {
  const int32_t i = response.sequence_index();
  if (i < 0 || i >= plan_.candidates) return false;
  fm::v1::Candidate& c = held_[i].candidate;
  c.mutable_text()->append(response.text());
  for (const fm::v1::GeneratedToken& t : response.tokens()) {
    c.add_token_ids(t.id());
    c.add_token_logprobs(t.logprob());
  }
  if (response.finish_reason() != fm::v1::FINISH_REASON_UNSPECIFIED) {
    c.set_finish_reason(response.finish_reason());
  }
  if (!plan_.keep_token_details) response.clear_tokens();
  held_[i].messages.push_back(std::move(response));
  return true;
}

absl::Status SelectingSink::Score(const grpc::CallbackServerContext& server_ctx,
                                  absl::Duration timeout,
                                  const std::string& prompt_text) {
  switch (plan_.method) {
    case fm::v1::Selection::SUM_LOGPROB:
      for (Held& h : held_) h.candidate.set_score(Sum(h.candidate));
      return absl::OkStatus();
    case fm::v1::Selection::MAJORITY: {
      std::map<std::string, int> votes;
      for (Held& h : held_) {
        fm::v1::Candidate& c = h.candidate;
        std::optional<std::string> answer =
            plan_.extract != nullptr ? plan_.extract->FirstMatch(c.text())
                                     : std::optional<std::string>(c.text());
        if (!answer) continue;
        std::string a = *answer;
        if (plan_.trim) a = std::string(absl::StripAsciiWhitespace(a));
        if (plan_.ignore_case) absl::AsciiStrToLower(&a);
        c.set_answer(a);
        c.set_has_answer(true);
        ++votes[a];
      }
      for (Held& h : held_) {
        fm::v1::Candidate& c = h.candidate;
        c.set_score(c.has_answer() ? votes[c.answer()] : 0);
      }
      return absl::OkStatus();
    }
    case fm::v1::Selection::VERIFIER:
      for (Held& h : held_) {
        fm::v1::VerifyRequest request;
        request.set_prompt(prompt_text);
        request.set_candidate(h.candidate.text());
        fm::v1::VerifyResponse response;
        auto ctx = DownstreamContext(server_ctx, timeout);
        grpc::Status s = plan_.verifier->Score(ctx.get(), request, &response);
        if (!s.ok()) {
          return FromGrpcStatus(
              s, absl::StrCat("verifier '", plan_.verifier_name, "'"));
        }
        if (!std::isfinite(response.score())) {
          return absl::UnavailableError(
              absl::StrCat("verifier '", plan_.verifier_name,
                           "' scored candidate ", h.candidate.index(), " ",
                           response.score(), " (a score must be finite)"));
        }
        h.candidate.set_score(response.score());
        h.candidate.set_reason(response.reason());  // completed in Finish
      }
      return absl::OkStatus();
    default:
      for (Held& h : held_) h.candidate.set_score(Mean(h.candidate));
      return absl::OkStatus();
  }
}

std::vector<int32_t> SelectingSink::Rank() {
  std::vector<int32_t> order(held_.size());
  std::iota(order.begin(), order.end(), 0);
  // Ties: the higher mean logprob, then the earlier candidate.
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const fm::v1::Candidate& x = held_[a].candidate;
    const fm::v1::Candidate& y = held_[b].candidate;
    if (x.score() != y.score()) return x.score() > y.score();
    return Mean(x) > Mean(y);
  });
  return order;
}

absl::Status SelectingSink::Finish(
    const grpc::CallbackServerContext& server_ctx, absl::Duration timeout,
    const std::string& prompt_text) {
  FM_RETURN_IF_ERROR(Score(server_ctx, timeout, prompt_text));
  const std::vector<int32_t> order = Rank();
  fm::v1::GenerateResponse summary;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    fm::v1::Candidate& c = held_[order[rank]].candidate;
    const bool chosen = static_cast<int32_t>(rank) < plan_.returned;
    std::string why = absl::StrFormat(
        "%s rank %d of %d by %s (score %.6g)",
        chosen ? "selected:" : "not selected:", static_cast<int>(rank + 1),
        static_cast<int>(order.size()), MethodName(plan_.method), c.score());
    if (plan_.method == fm::v1::Selection::MAJORITY) {
      absl::StrAppend(&why, c.has_answer()
                                ? absl::StrCat("; answer '", c.answer(), "'")
                                : "; no answer extracted");
    }
    if (plan_.method == fm::v1::Selection::VERIFIER && !c.reason().empty()) {
      absl::StrAppend(&why, "; verifier: ", c.reason());
    }
    c.set_reason(why);
    if (!chosen) continue;
    c.set_sequence_index(static_cast<int32_t>(rank));
    for (fm::v1::GenerateResponse& m : held_[order[rank]].messages) {
      m.set_sequence_index(static_cast<int32_t>(rank));
      if (!out_->Write(std::move(m))) {
        return absl::CancelledError("the client went away");
      }
    }
  }
  summary.set_sequence_index(0);
  for (Held& h : held_) *summary.add_candidates() = std::move(h.candidate);
  if (!out_->Write(std::move(summary))) {
    return absl::CancelledError("the client went away");
  }
  return absl::OkStatus();
}

}  // namespace fm::gateway
