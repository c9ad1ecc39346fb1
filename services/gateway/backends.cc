// Backends: facts loading (Info + GetVocab) and the health watcher.
#include "services/gateway/backends.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "common/vocabulary_fetch.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace fm::gateway {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(5);

bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineAfter(absl::Seconds(1)));
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&ctx, {}, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

text::PieceType FromProto(fm::v1::PieceType type) {
  switch (type) {
    case fm::v1::PIECE_TYPE_UNKNOWN:
      return text::PieceType::kUnknown;
    case fm::v1::PIECE_TYPE_CONTROL:
      return text::PieceType::kControl;
    case fm::v1::PIECE_TYPE_USER_DEFINED:
      return text::PieceType::kUserDefined;
    case fm::v1::PIECE_TYPE_BYTE:
      return text::PieceType::kByte;
    case fm::v1::PIECE_TYPE_UNUSED:
      return text::PieceType::kUnused;
    default:
      return text::PieceType::kNormal;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backends>> Backends::Create(
    const std::string& tokenizer_target, const std::string& model_target,
    RouteTable* routes, const ChannelOptions& options) {
  std::unique_ptr<Backends> b(new Backends());
  auto tok = MakeChannel(tokenizer_target, options);
  if (!tok.ok()) return Annotate(tok.status(), "--tokenizer");
  auto model = MakeChannel(model_target, options);
  if (!model.ok()) return Annotate(model.status(), "--model");
  b->tokenizer_channel_ = *tok;
  b->model_channel_ = *model;
  b->tokenizer_ = fm::v1::TokenizerService::NewStub(*tok);
  b->model_ = fm::v1::ModelService::NewStub(*model);
  b->routes_ = routes;
  b->channel_options_ = options;
  return b;
}

absl::Status Backends::AddVerifier(const std::string& flag) {
  const size_t eq = flag.find('=');
  const std::string name = flag.substr(0, eq);
  if (eq == std::string::npos || name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '_' || c == '-';
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("--verifier=", flag,
                     ": expected NAME=ADDR with NAME of 1 to 64 "
                     "letters, digits, '_' or '-'"));
  }
  if (verifiers_.count(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--verifier: '", name, "' is given twice"));
  }
  auto channel = MakeChannel(flag.substr(eq + 1), channel_options_);
  if (!channel.ok()) {
    return Annotate(channel.status(), absl::StrCat("--verifier=", flag));
  }
  verifiers_[name] = fm::v1::VerifierService::NewStub(*channel);
  return absl::OkStatus();
}

fm::v1::VerifierService::Stub* Backends::verifier(
    const std::string& name) const {
  auto it = verifiers_.find(name);
  return it == verifiers_.end() ? nullptr : it->second.get();
}

Backends::~Backends() { StopWatcher(); }

void Backends::StopWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

absl::StatusOr<std::shared_ptr<const PipelineFacts>> Backends::Facts() const {
  absl::MutexLock lock(&mu_);
  if (facts_ == nullptr) {
    return absl::UnavailableError(
        "gateway: tokenizer vocabulary and model info not loaded yet "
        "(are fm-tokenizer and fm-model up?)");
  }
  return facts_;
}

bool Backends::WaitForModel(absl::Time deadline) const {
  return WaitForReconnect(*model_channel_, deadline);
}

bool Backends::healthy() const {
  absl::MutexLock lock(&mu_);
  return healthy_;
}

absl::Status Backends::LoadFacts() {
  auto facts = std::make_shared<PipelineFacts>();
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(kCallTimeout));
    grpc::Status s = tokenizer_->Info(&ctx, {}, &facts->tokenizer);
    if (!s.ok()) return FromGrpcStatus(s, "tokenizer");
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(kCallTimeout));
    grpc::Status s = model_->Info(&ctx, {}, &facts->model);
    if (!s.ok()) return FromGrpcStatus(s, "model");
  }
  {
    absl::MutexLock lock(&mu_);
    if (facts_ != nullptr &&
        facts_->tokenizer.model_sha256() == facts->tokenizer.model_sha256() &&
        facts_->model.model_sha256() == facts->model.model_sha256()) {
      return absl::OkStatus();  // unchanged: keep the loaded vocabulary
    }
  }
  FM_ASSIGN_OR_RETURN(fm::v1::GetVocabResponse vocab,
                      FetchVocabulary(*tokenizer_, kCallTimeout));
  std::vector<text::VocabEntry> entries;
  entries.reserve(vocab.entries_size());
  for (const fm::v1::VocabEntry& e : vocab.entries()) {
    entries.push_back({e.piece(), e.score(), FromProto(e.type()), e.text()});
  }
  text::SpecialIds special{
      vocab.special().bos_id(), vocab.special().eos_id(),
      vocab.special().unk_id(), vocab.special().pad_id(),
      {vocab.special().end_of_generation_ids().begin(),
       vocab.special().end_of_generation_ids().end()}};
  if (absl::Status valid = text::ValidateSpecialIds(special, vocab.entries_size());
      !valid.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tokenizer GetVocab: ", valid.message()));
  }
  // A tokenizer from before decode_rules existed decoded by dropping a
  // text's leading spaces (remove_extra_whitespaces' rule): keep that.
  const text::DecodeRules rules =
      vocab.has_decode_rules()
          ? text::DecodeRules{vocab.decode_rules().add_dummy_prefix(),
                              vocab.decode_rules().remove_extra_whitespaces(),
                              vocab.decode_rules().byte_level()}
          : text::DecodeRules{true, true, false};
  facts->vocab = std::make_shared<text::VocabDetokenizer>(std::move(entries),
                                                          special, rules);
  FM_LOG(INFO) << "pipeline: tokenizer " << facts->tokenizer.model_sha256()
               << " (" << facts->tokenizer.vocab_size() << " ids), model "
               << facts->model.model_sha256() << " (context "
               << facts->model.context_length() << ")";
  absl::MutexLock lock(&mu_);
  facts_ = std::move(facts);
  return absl::OkStatus();
}

void Backends::StartWatcher(absl::Duration period,
                            std::function<void(bool)> on_health) {
  watcher_ = std::thread([this, period, on_health = std::move(on_health)] {
    WatchLoop(period, on_health);
  });
}

void Backends::WatchLoop(absl::Duration period,
                         std::function<void(bool)> on_health) {
  bool reported = false;
  bool first = true;
  for (;;) {
    bool up = Serving(tokenizer_channel_) && Serving(model_channel_);
    auto sampler = routes_->Find("default");
    up = up && sampler.ok() && Serving((*sampler)->channel);
    if (up) {
      absl::Status loaded = LoadFacts();
      if (!loaded.ok()) {
        FM_LOG(WARNING) << "cannot load pipeline facts: " << loaded;
        up = false;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      healthy_ = up;
    }
    if (first || up != reported) {
      FM_LOG(INFO) << "downstream services "
                   << (up ? "SERVING" : "not all SERVING");
      on_health(up);
      reported = up;
      first = false;
    }
    absl::MutexLock lock(&mu_);
    auto stop = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), period)) return;
  }
}

}  // namespace fm::gateway
