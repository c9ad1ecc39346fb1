// `fmctl generate`, `fmctl score`, `fmctl routes` and the gateway form of
// `fmctl info`: clients of fm-gateway (address from --gateway or
// $FM_GATEWAY).
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "common/chain_proto_json.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "services/fmctl/conversation_json.h"
#include "services/fmctl/fmctl.h"
#include "services/fmctl/stream_stats.h"

ABSL_DECLARE_FLAG(std::string, gateway);
ABSL_DECLARE_FLAG(std::string, chain);
ABSL_DECLARE_FLAG(std::string, profile);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, seed);
ABSL_DECLARE_FLAG(std::optional<double>, temperature);
ABSL_DECLARE_FLAG(std::optional<int>, top_k);
ABSL_DECLARE_FLAG(std::optional<double>, top_p);
ABSL_DECLARE_FLAG(std::optional<double>, min_p);
ABSL_DECLARE_FLAG(std::optional<double>, repetition_penalty);
ABSL_DECLARE_FLAG(std::optional<double>, presence_penalty);
ABSL_DECLARE_FLAG(std::optional<double>, frequency_penalty);
ABSL_DECLARE_FLAG(int, max_tokens);
ABSL_DECLARE_FLAG(int, min_tokens);
ABSL_DECLARE_FLAG(int, n);
ABSL_DECLARE_FLAG(bool, logprobs);
ABSL_DECLARE_FLAG(int, top_logprobs);
ABSL_DECLARE_FLAG(bool, processed_logprobs);
ABSL_DECLARE_FLAG(std::string, sampler_route);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(bool, stats);
ABSL_DECLARE_FLAG(bool, bos);
ABSL_DECLARE_FLAG(bool, no_bos);
ABSL_DECLARE_FLAG(bool, ignore_eos);
ABSL_DECLARE_FLAG(bool, include_stop_str);
ABSL_DECLARE_FLAG(bool, trace);
ABSL_DECLARE_FLAG(bool, no_cache);
ABSL_DECLARE_FLAG(std::vector<std::string>, shadow);
ABSL_DECLARE_FLAG(int, best_of);
ABSL_DECLARE_FLAG(int, beam_width);
ABSL_DECLARE_FLAG(std::optional<double>, length_penalty);
ABSL_DECLARE_FLAG(bool, early_stopping);
ABSL_DECLARE_FLAG(std::string, select);
ABSL_DECLARE_FLAG(std::string, verifier);
ABSL_DECLARE_FLAG(std::string, extract);
ABSL_DECLARE_FLAG(bool, trim);
ABSL_DECLARE_FLAG(bool, ignore_case);

namespace fm::fmctl {
namespace {

absl::StatusOr<std::unique_ptr<fm::v1::GatewayService::Stub>> GatewayStub() {
  auto channel =
      ChannelFor("gateway", absl::GetFlag(FLAGS_gateway), "FM_GATEWAY");
  if (!channel.ok()) return channel.status();
  return fm::v1::GatewayService::NewStub(*channel);
}

const char* FinishName(fm::v1::FinishReason reason) {
  switch (reason) {
    case fm::v1::FINISH_REASON_STOP:
      return "stop";
    case fm::v1::FINISH_REASON_EOS:
      return "eos";
    case fm::v1::FINISH_REASON_LENGTH:
      return "length";
    case fm::v1::FINISH_REASON_CANCELLED:
      return "cancelled";
    default:
      return "";
  }
}

// The shorthand flags that were given on the command line (the others are
// left to the gateway's defaults).
void SetShorthand(fm::v1::GenerateRequest* r) {
  fm::v1::SamplingShorthand* s = r->mutable_shorthand();
  auto given = [](const absl::Flag<std::optional<double>>& flag, auto set) {
    if (const std::optional<double> v = absl::GetFlag(flag)) {
      set(static_cast<float>(*v));
    }
  };
  given(FLAGS_temperature, [s](float v) { s->set_temperature(v); });
  given(FLAGS_top_p, [s](float v) { s->set_top_p(v); });
  given(FLAGS_min_p, [s](float v) { s->set_min_p(v); });
  given(FLAGS_repetition_penalty,
        [s](float v) { s->set_repetition_penalty(v); });
  given(FLAGS_presence_penalty, [s](float v) { s->set_presence_penalty(v); });
  given(FLAGS_frequency_penalty, [s](float v) { s->set_frequency_penalty(v); });
  if (const std::optional<int> k = absl::GetFlag(FLAGS_top_k)) {
    s->set_top_k(*k);
  }
}

// best_of's candidates, as scored and selected.
nlohmann::json CandidatesJson(const fm::v1::GenerateResponse& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const fm::v1::Candidate& c : m.candidates()) {
    nlohmann::json j{
        {"index", c.index()},
        {"text", c.text()},
        {"score", c.score()},
        {"sequence", c.sequence_index()},
        {"reason", c.reason()},
        {"finish_reason", FinishName(c.finish_reason())},
        {"ids",
         std::vector<int32_t>(c.token_ids().begin(), c.token_ids().end())},
        {"logprobs", std::vector<float>(c.token_logprobs().begin(),
                                        c.token_logprobs().end())}};
    if (c.has_answer()) j["answer"] = c.answer();
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json ToJson(const fm::v1::GenerateResponse& m) {
  nlohmann::json j;
  j["sequence"] = m.sequence_index();
  j["text"] = m.text();
  j["ids"] = std::vector<int32_t>(m.token_ids().begin(), m.token_ids().end());
  if (m.tokens_size() > 0) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& t : m.tokens()) {
      nlohmann::json tj{{"id", t.id()}, {"logprob", t.logprob()}};
      if (t.top_logprobs_size() > 0) {
        nlohmann::json top = nlohmann::json::array();
        for (const auto& a : t.top_logprobs()) {
          top.push_back({{"id", a.id()}, {"logprob", a.logprob()}});
        }
        tj["top_logprobs"] = top;
      }
      if (t.shadows_size() > 0) {
        nlohmann::json shadows = nlohmann::json::array();
        for (const auto& sh : t.shadows()) {
          shadows.push_back({{"profile", sh.profile()}, {"id", sh.id()}});
        }
        tj["shadows"] = shadows;
      }
      if (t.trace_size() > 0) {
        nlohmann::json trace = nlohmann::json::array();
        for (const auto& st : t.trace()) {
          trace.push_back(
              {{"stage", st.stage()}, {"candidates", st.candidates()}});
        }
        tj["trace"] = trace;
      }
      tokens.push_back(tj);
    }
    j["logprobs"] = tokens;
  }
  if (m.finish_reason() != fm::v1::FINISH_REASON_UNSPECIFIED) {
    j["finish_reason"] = FinishName(m.finish_reason());
    if (!m.stop_string().empty()) j["stop_string"] = m.stop_string();
    if (m.finish_reason() == fm::v1::FINISH_REASON_STOP &&
        m.stop_string().empty()) {
      j["stop_token_id"] = m.stop_token_id();
    }
    j["usage"] = {
        {"prompt_tokens", m.usage().prompt_tokens()},
        {"completion_tokens", m.usage().completion_tokens()},
        {"time_to_first_token_ms", m.usage().time_to_first_token_ms()},
        {"tokens_per_second", m.usage().tokens_per_second()}};
  }
  j["seed"] = m.seed();
  if (m.cache_hit()) j["cache_hit"] = true;
  if (m.candidates_size() > 0) j["candidates"] = CandidatesJson(m);
  return j;
}

// Every Generate option the flags set, without a prompt.
fm::v1::GenerateRequest OptionsFromFlags(const std::vector<std::string>& stops,
                                         absl::Status* error) {
  fm::v1::GenerateRequest r;
  r.set_max_tokens(absl::GetFlag(FLAGS_max_tokens));
  r.set_min_tokens(absl::GetFlag(FLAGS_min_tokens));
  for (const std::string& s : stops) r.add_stop(s);
  r.set_include_stop_str(absl::GetFlag(FLAGS_include_stop_str));
  r.set_ignore_eos(absl::GetFlag(FLAGS_ignore_eos));
  const std::string chain = absl::GetFlag(FLAGS_chain);
  const std::string profile = absl::GetFlag(FLAGS_profile);
  if (!chain.empty()) {
    auto parsed = ChainFromJson(chain);
    if (!parsed.ok()) *error = parsed.status();
    if (parsed.ok()) *r.mutable_sampling()->mutable_chain() = *parsed;
  } else if (!profile.empty()) {
    r.mutable_sampling()->set_profile(profile);
  } else {
    SetShorthand(&r);
  }
  if (const std::optional<uint64_t> seed = absl::GetFlag(FLAGS_seed)) {
    r.set_seed(*seed);
  }
  r.set_n(absl::GetFlag(FLAGS_n));
  r.set_logprobs(absl::GetFlag(FLAGS_logprobs));
  r.set_top_logprobs(absl::GetFlag(FLAGS_top_logprobs));
  if (absl::GetFlag(FLAGS_processed_logprobs)) {
    r.set_logprobs_mode(fm::v1::LOGPROBS_MODE_PROCESSED);
  }
  r.set_sampler_route(absl::GetFlag(FLAGS_sampler_route));
  r.set_trace(absl::GetFlag(FLAGS_trace));
  for (const std::string& s : absl::GetFlag(FLAGS_shadow)) {
    if (!s.empty()) r.add_shadow_profiles(s);
  }
  r.set_no_cache(absl::GetFlag(FLAGS_no_cache));
  if (const int width = absl::GetFlag(FLAGS_beam_width); width > 0) {
    r.set_beam_width(width);
    if (const std::optional<double> lp = absl::GetFlag(FLAGS_length_penalty)) {
      r.set_length_penalty(static_cast<float>(*lp));
    }
    r.set_early_stopping(absl::GetFlag(FLAGS_early_stopping));
  }
  if (const int best_of = absl::GetFlag(FLAGS_best_of); best_of > 0) {
    r.set_best_of(best_of);
    static const std::map<std::string, fm::v1::Selection::Method>* kMethods =
        new std::map<std::string, fm::v1::Selection::Method>{
            {"mean_logprob", fm::v1::Selection::MEAN_LOGPROB},
            {"sum_logprob", fm::v1::Selection::SUM_LOGPROB},
            {"majority", fm::v1::Selection::MAJORITY},
            {"verifier", fm::v1::Selection::VERIFIER}};
    const std::string select = absl::GetFlag(FLAGS_select);
    auto method = kMethods->find(select);
    if (method == kMethods->end()) {
      *error = absl::InvalidArgumentError(
          absl::StrCat("--select=", select,
                       ": expected mean_logprob, sum_logprob, majority or "
                       "verifier"));
    } else {
      fm::v1::Selection* s = r.mutable_select();
      s->set_method(method->second);
      s->set_verifier(absl::GetFlag(FLAGS_verifier));
      s->set_extract(absl::GetFlag(FLAGS_extract));
      s->set_trim(absl::GetFlag(FLAGS_trim));
      s->set_ignore_case(absl::GetFlag(FLAGS_ignore_case));
    }
  }
  auto constraint = ConstraintFromFlags();
  if (!constraint.ok()) {
    *error = constraint.status();
  } else if (constraint->has_value()) {
    *r.mutable_constraint() = **constraint;
  }
  return r;
}

// Prints a Generate or Chat stream: text as it comes (per sequence when
// n > 1), or one JSON object per message with --json.
// With --stats, the stream's timing goes to stderr as it comes.
int PrintStream(grpc::ClientReader<fm::v1::GenerateResponse>* reader, int n,
                absl::Time start) {
  const bool json = absl::GetFlag(FLAGS_json);
  const bool several = n > 1;
  std::optional<StreamStats> stats;
  if (absl::GetFlag(FLAGS_stats)) {
    stats.emplace(start, stderr, isatty(STDERR_FILENO) == 1);
  }
  std::map<int, std::string> texts;  // with n > 1, printed per sequence
  fm::v1::GenerateResponse m;
  while (reader->Read(&m)) {
    if (stats.has_value()) stats->Add(m, absl::Now());
    if (json) {
      std::printf("%s\n", ToJson(m).dump().c_str());
    } else if (m.candidates_size() > 0) {
      // best_of's ranking: beside the text, not in it.
      for (const fm::v1::Candidate& c : m.candidates()) {
        std::fprintf(stderr, "candidate %d: %s\n", c.index(),
                     c.reason().c_str());
      }
    } else if (several) {
      texts[m.sequence_index()] += m.text();
    } else {
      std::fwrite(m.text().data(), 1, m.text().size(), stdout);
    }
    std::fflush(stdout);
  }
  grpc::Status status = reader->Finish();
  if (stats.has_value()) stats->Finish(absl::Now());
  if (!json && several) {
    for (const auto& [index, text] : texts) {
      std::printf("--- sequence %d ---\n%s\n", index, text.c_str());
    }
  } else if (!json) {
    std::fputc('\n', stdout);
  }
  if (!status.ok()) return Fail("gateway", status);
  return 0;
}

}  // namespace

int RunGenerate(const Args& args, const std::vector<std::string>& stops) {
  if (args.size() != 1) return Usage("generate");
  absl::Status error;
  fm::v1::GenerateRequest r = OptionsFromFlags(stops, &error);
  if (!error.ok()) return Fail("generate", error);
  r.set_text(TextArg(args[0]));
  if (absl::GetFlag(FLAGS_no_bos)) r.set_add_bos(false);
  auto stub = GatewayStub();
  if (!stub.ok()) return Fail("generate", stub.status());
  auto ctx = NewGatewayContext();
  const absl::Time start = absl::Now();
  auto reader = (*stub)->Generate(ctx.get(), r);
  return PrintStream(reader.get(), r.n(), start);
}

int RunChat(const Args& args, const std::vector<std::string>& stops) {
  if (args.size() != 1) return Usage("chat");
  auto conversation = ConversationFromJson(TextArg(args[0]));
  if (!conversation.ok()) return Fail("chat", conversation.status());
  fm::v1::ChatRequest r;
  *r.mutable_messages() = conversation->messages();
  r.set_tools_json(conversation->tools_json());
  r.set_variables_json(conversation->variables_json());
  absl::Status error;
  *r.mutable_generate() = OptionsFromFlags(stops, &error);
  if (!error.ok()) return Fail("chat --chain", error);
  auto stub = GatewayStub();
  if (!stub.ok()) return Fail("chat", stub.status());
  auto ctx = NewGatewayContext();
  const absl::Time start = absl::Now();
  auto reader = (*stub)->Chat(ctx.get(), r);
  return PrintStream(reader.get(), r.generate().n(), start);
}

int RunScore(const Args& args) {
  if (args.size() < 2) return Usage("score");
  fm::v1::ScoreRequest r;
  r.set_text(TextArg(args[0]));
  if (absl::GetFlag(FLAGS_no_bos)) r.set_add_bos(false);
  for (size_t i = 1; i < args.size(); ++i) r.add_continuations(args[i]);
  r.set_top_logprobs(absl::GetFlag(FLAGS_top_logprobs));
  auto stub = GatewayStub();
  if (!stub.ok()) return Fail("score", stub.status());
  auto ctx = NewGatewayContext();
  fm::v1::ScoreResponse response;
  grpc::Status status = (*stub)->Score(ctx.get(), r, &response);
  if (!status.ok()) return Fail("gateway", status);
  nlohmann::json out;
  out["prompt_tokens"] = response.prompt_tokens();
  out["ranking"] = std::vector<int32_t>(response.ranking().begin(),
                                        response.ranking().end());
  out["scores"] = nlohmann::json::array();
  for (const auto& s : response.scores()) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& t : s.tokens()) {
      tokens.push_back(
          {{"id", t.id()}, {"text", t.text()}, {"logprob", t.logprob()}});
    }
    out["scores"].push_back({{"text", s.text()},
                             {"sum_logprob", s.sum_logprob()},
                             {"mean_logprob", s.mean_logprob()},
                             {"perplexity", s.perplexity()},
                             {"rank", s.rank()},
                             {"tokens", tokens}});
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int RunGatewayInfo() {
  auto stub = GatewayStub();
  if (!stub.ok()) return Fail("info", stub.status());
  return PrintInfo<fm::v1::GatewayService::Stub, fm::v1::GatewayInfo>(
      **stub, NewGatewayContext(), "gateway");
}

int RunRoutes(const Args& args) {
  auto stub = GatewayStub();
  if (!stub.ok()) return Fail("routes", stub.status());
  auto ctx = NewGatewayContext();
  if (args.empty() || (args[0] == "list" && args.size() == 1)) {
    fm::v1::ListRoutesResponse response;
    grpc::Status status = (*stub)->ListRoutes(ctx.get(), {}, &response);
    if (!status.ok()) return Fail("gateway", status);
    for (const auto& r : response.routes()) {
      std::printf("%s\t%s\n", r.name().c_str(), r.target().c_str());
    }
    return 0;
  }
  if (args[0] == "set" && args.size() == 3) {
    fm::v1::SetRouteRequest request;
    request.mutable_route()->set_name(args[1]);
    request.mutable_route()->set_target(args[2]);
    fm::v1::Route response;
    grpc::Status status = (*stub)->SetRoute(ctx.get(), request, &response);
    if (!status.ok()) return Fail("gateway", status);
    return 0;
  }
  if (args[0] == "delete" && args.size() == 2) {
    fm::v1::DeleteRouteRequest request;
    request.set_name(args[1]);
    fm::v1::DeleteRouteResponse response;
    grpc::Status status = (*stub)->DeleteRoute(ctx.get(), request, &response);
    if (!status.ok()) return Fail("gateway", status);
    return 0;
  }
  return Usage("routes");
}

}  // namespace fm::fmctl
