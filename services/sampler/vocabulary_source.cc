// VocabularySource: Info every period, the whole vocabulary when the
// tokenizer's identity changed.
#include "services/sampler/vocabulary_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_util.h"
#include "common/vocabulary_fetch.h"

namespace fm::sampler {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(10);
constexpr char kWordMarker[] = "\xe2\x96\x81";  // SentencePiece's "▁"

}  // namespace

std::shared_ptr<const constraint::TokenVocabulary> ConstraintVocabulary(
    const fm::v1::GetVocabResponse& vocab, const std::string& sha256) {
  auto out = std::make_shared<constraint::TokenVocabulary>();
  out->tokenizer_sha256 = sha256;
  out->bytes.resize(vocab.entries_size());
  const bool strips_at_start =
      !vocab.decode_rules().byte_level() &&
      (vocab.decode_rules().add_dummy_prefix() ||
       vocab.decode_rules().remove_extra_whitespaces());
  for (int i = 0; i < vocab.entries_size(); ++i) {
    const fm::v1::VocabEntry& e = vocab.entries(i);
    switch (e.type()) {
      case fm::v1::PIECE_TYPE_CONTROL:
      case fm::v1::PIECE_TYPE_UNKNOWN:
      case fm::v1::PIECE_TYPE_UNUSED:
        break;  // no text a constraint could check
      default:
        out->bytes[i] = e.text();
        if (strips_at_start && e.type() != fm::v1::PIECE_TYPE_BYTE &&
            absl::StartsWith(e.piece(), kWordMarker)) {
          out->changed_at_text_start.push_back(i);
        }
    }
  }
  for (int32_t id : vocab.special().end_of_generation_ids()) {
    if (id >= 0 && id < vocab.entries_size()) {
      out->end_of_generation.push_back(id);
    }
  }
  const int32_t eos = vocab.special().eos_id();
  if (eos >= 0 && eos < vocab.entries_size()) {
    out->end_of_generation.push_back(eos);
  }
  auto& eog = out->end_of_generation;
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  // An end-of-generation id is never text, whatever its piece type.
  for (int32_t id : eog) out->bytes[id].clear();
  return out;
}

VocabularySource::VocabularySource() {
  first_attempt_done_ = true;  // nothing will ever load
  missing_reason_ =
      "start fm-sampler with --tokenizer=ADDR (the fm-tokenizer serving the "
      "model's vocabulary)";
}

absl::StatusOr<std::unique_ptr<VocabularySource>> VocabularySource::Connect(
    const std::string& target, const ChannelOptions& options,
    absl::Duration period) {
  auto channel = MakeChannel(target, options);
  if (!channel.ok()) return channel.status();
  std::unique_ptr<VocabularySource> source(new VocabularySource());
  source->channel_ = *channel;
  source->stub_ = fm::v1::TokenizerService::NewStub(source->channel_);
  source->target_ = target;
  {
    absl::MutexLock lock(&source->mu_);
    source->missing_reason_ =
        absl::StrCat("the vocabulary of the tokenizer at ", target,
                     " is not loaded yet; retry shortly");
  }
  source->loop_ = std::thread([s = source.get(), period] { s->Loop(period); });
  return source;
}

VocabularySource::~VocabularySource() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();
}

SessionVocabulary VocabularySource::Current(absl::Duration wait) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&first_attempt_done_), wait);
  SessionVocabulary out;
  out.tokens = tokens_;
  out.trie = trie_;
  out.cache = const_cast<constraint::ConstraintCache*>(&cache_);
  out.missing_reason = missing_reason_;
  out.missing_code = channel_ == nullptr ? absl::StatusCode::kFailedPrecondition
                                         : absl::StatusCode::kUnavailable;
  return out;
}

absl::Status VocabularySource::Refresh() {
  fm::v1::TokenizerInfo info;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(kCallTimeout));
    grpc::Status s = stub_->Info(&ctx, {}, &info);
    if (!s.ok()) return FromGrpcStatus(s, "tokenizer");
  }
  {
    absl::MutexLock lock(&mu_);
    if (tokens_ != nullptr &&
        tokens_->tokenizer_sha256 == info.model_sha256()) {
      return absl::OkStatus();
    }
  }
  auto vocab = FetchVocabulary(*stub_, kCallTimeout);
  if (!vocab.ok()) return vocab.status();
  auto tokens = ConstraintVocabulary(*vocab, info.model_sha256());
  auto trie = std::make_shared<const constraint::TokenTrie>(*tokens);
  FM_LOG(INFO) << "vocabulary loaded from " << target_ << ": " << tokens->size()
               << " tokens, sha256 " << info.model_sha256().substr(0, 12);
  absl::MutexLock lock(&mu_);
  tokens_ = std::move(tokens);
  trie_ = std::move(trie);
  return absl::OkStatus();
}

void VocabularySource::Loop(absl::Duration period) {
  absl::Duration wait = absl::ZeroDuration();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
      if (stopping_) return;
    }
    absl::Status s = Refresh();
    absl::MutexLock lock(&mu_);
    first_attempt_done_ = true;
    if (!s.ok()) {
      if (tokens_ == nullptr) {
        missing_reason_ = absl::StrCat("the vocabulary of the tokenizer at ",
                                       target_, " could not be loaded yet (",
                                       s.message(), "); retry shortly");
      }
      // Once per distinct failure, not once a second while it lasts.
      if (s.ToString() != last_failure_) {
        FM_LOG(WARNING) << "vocabulary not refreshed: " << s;
        last_failure_ = s.ToString();
      }
      wait = std::min(period, absl::Seconds(1));  // retry soon
    } else {
      last_failure_.clear();
      wait = period;
    }
  }
}

}  // namespace fm::sampler
