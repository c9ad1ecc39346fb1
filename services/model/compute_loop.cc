// ComputeLoop: request validation by simulation, then phase-by-phase
// execution where each phase batches the consecutive appends of every
// request in the batch into one LlamaModel::Forward.
#include "services/model/compute_loop.h"

#include <immintrin.h>

#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logits_codec.h"
#include "common/status_util.h"
#include "services/model/model_metrics.h"

namespace fm::model {
namespace {

// Largest logits payload of one response (below the default 64 MiB
// message limit, with room for the envelope).
constexpr int64_t kMaxLogitsBytes = 48 << 20;

absl::Status CheckSequenceId(int32_t id, int32_t max_sequences,
                             absl::string_view where) {
  if (id < 0 || (max_sequences > 0 && id >= max_sequences)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " = ", id, " is outside [0, ",
                     max_sequences > 0 ? absl::StrCat(max_sequences) : "2^31",
                     ") (--max_sequences)"));
  }
  return absl::OkStatus();
}

absl::Status CheckRoom(const std::map<int32_t, int32_t>& lengths,
                       int32_t max_sequences) {
  if (max_sequences > 0 &&
      static_cast<int32_t>(lengths.size()) >= max_sequences) {
    return absl::ResourceExhaustedError(
        absl::StrCat("session already holds ", lengths.size(),
                     " sequences (max ", max_sequences, ", --max_sequences)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSessionRequest(KvCache& cache, int32_t max_sequences,
                                    const ModelInfo& info,
                                    const fm::v1::SessionRequest& request) {
  absl::Status format =
      ValidateLogitsFormat(request.logits_format(), info.vocab_size);
  if (!format.ok()) return format;
  if (request.ops_size() == 0) {
    return absl::InvalidArgumentError("request has no ops");
  }
  const int32_t max_ops = max_sequences > 0 ? 4 * max_sequences : 1024;
  if (request.ops_size() > max_ops) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request has ", request.ops_size(), " ops; the limit is ", max_ops));
  }
  // Logits returned by one request are bounded, so a response always fits
  // in a gRPC message (scoring long texts asks for every position).
  int64_t positions = 0;
  for (const fm::v1::SequenceOp& op : request.ops()) {
    if (op.has_append()) {
      positions += op.append().all_logits() ? op.append().token_ids_size() : 1;
    }
  }
  const int64_t bytes = positions * info.vocab_size * 4;
  if (bytes > kMaxLogitsBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request asks for logits at ", positions, " positions (", bytes,
        " bytes at vocabulary ", info.vocab_size, "); the limit is ",
        kMaxLogitsBytes, " bytes: split it, or set all_logits on fewer"));
  }
  // Simulated sequence lengths, by id.
  std::map<int32_t, int32_t> lengths;
  for (int32_t id : cache.ids()) lengths[id] = cache.Find(id)->size();
  const int32_t ctx = info.context_length;

  for (int i = 0; i < request.ops_size(); ++i) {
    const fm::v1::SequenceOp& op = request.ops(i);
    const std::string where = absl::StrCat("ops[", i, "]");
    switch (op.op_case()) {
      case fm::v1::SequenceOp::kAppend: {
        const fm::v1::AppendOp& a = op.append();
        absl::Status s = CheckSequenceId(a.sequence_id(), max_sequences,
                                         where + ".append.sequence_id");
        if (!s.ok()) return s;
        if (a.token_ids_size() == 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ".append.token_ids is empty"));
        }
        if (!a.allowed_ids().empty()) {
          s = ValidateAllowedIds(a.allowed_ids(), info.vocab_size,
                                 where + ".append.allowed_ids");
          if (!s.ok()) return s;
          if (request.logits_format().top_k() <= 0 || a.all_logits()) {
            return absl::InvalidArgumentError(absl::StrCat(
                where,
                ".append.allowed_ids restricts a head of the logits: it "
                "needs logits_format.top_k > 0 and no all_logits"));
          }
        }
        for (int j = 0; j < a.token_ids_size(); ++j) {
          const int32_t t = a.token_ids(j);
          if (t < 0 || t >= info.vocab_size) {
            return absl::InvalidArgumentError(absl::StrCat(
                where, ".append.token_ids[", j, "] = ", t, " is outside [0, ",
                info.vocab_size, ") (vocabulary size)"));
          }
        }
        auto it = lengths.find(a.sequence_id());
        if (it == lengths.end()) {
          s = CheckRoom(lengths, max_sequences);
          if (!s.ok()) return Annotate(s, where);
          it = lengths.emplace(a.sequence_id(), 0).first;
        }
        const int64_t after =
            static_cast<int64_t>(it->second) + a.token_ids_size();
        if (after > ctx) {
          return absl::OutOfRangeError(absl::StrCat(
              where, ".append: sequence ", a.sequence_id(), " holds ",
              it->second, " positions; appending ", a.token_ids_size(),
              " would exceed context_length ", ctx));
        }
        it->second = static_cast<int32_t>(after);
        break;
      }
      case fm::v1::SequenceOp::kFork: {
        const fm::v1::ForkOp& f = op.fork();
        auto src = lengths.find(f.source_sequence_id());
        if (src == lengths.end()) {
          return absl::NotFoundError(absl::StrCat(
              where, ".fork.source_sequence_id = ", f.source_sequence_id(),
              " does not exist"));
        }
        absl::Status s = CheckSequenceId(f.new_sequence_id(), max_sequences,
                                         where + ".fork.new_sequence_id");
        if (!s.ok()) return s;
        if (lengths.count(f.new_sequence_id())) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, ".fork.new_sequence_id = ", f.new_sequence_id(),
              " already exists"));
        }
        if (f.length() < 0 || f.length() > src->second) {
          return absl::OutOfRangeError(absl::StrCat(
              where, ".fork.length = ", f.length(), " is outside [0, ",
              src->second, "] (source length)"));
        }
        s = CheckRoom(lengths, max_sequences);
        if (!s.ok()) return Annotate(s, where);
        const int32_t n = f.length() == 0 ? src->second : f.length();
        lengths[f.new_sequence_id()] = n;
        break;
      }
      case fm::v1::SequenceOp::kDrop: {
        if (lengths.erase(op.drop().sequence_id()) == 0) {
          return absl::NotFoundError(absl::StrCat(
              where, ".drop.sequence_id = ", op.drop().sequence_id(),
              " does not exist"));
        }
        break;
      }
      case fm::v1::SequenceOp::kTruncate: {
        const fm::v1::TruncateOp& t = op.truncate();
        auto it = lengths.find(t.sequence_id());
        if (it == lengths.end()) {
          return absl::NotFoundError(
              absl::StrCat(where, ".truncate.sequence_id = ", t.sequence_id(),
                           " does not exist"));
        }
        if (t.length() < 0 || t.length() > it->second) {
          return absl::OutOfRangeError(absl::StrCat(
              where, ".truncate.length = ", t.length(), " is outside [0, ",
              it->second, "] (current length)"));
        }
        it->second = t.length();
        break;
      }
      default:
        return absl::InvalidArgumentError(
            absl::StrCat(where, " sets no op (append, fork, drop, truncate)"));
    }
  }
  return absl::OkStatus();
}

ComputeLoop::ComputeLoop(LlamaModel* model, absl::Duration step_delay)
    : model_(model), step_delay_(step_delay), thread_([this] { Run(); }) {}

ComputeLoop::~ComputeLoop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void ComputeLoop::Submit(SessionWork work) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(work));
  has_work_.store(true, std::memory_order_release);
}

void ComputeLoop::Run() {
  for (;;) {
    // A decode stream sends its next step a few hundred microseconds after
    // the last answer (sampler and gateway in between): spin that long
    // before sleeping, so the step does not also pay for waking this
    // thread (measured on this VM: a futex wake-up costs ~50-100 us).
    const auto spin_until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(300);
    while (!has_work_.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < spin_until) {
      _mm_pause();
    }
    std::vector<SessionWork> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ComputeLoop* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
            return c->stopping_ || !c->queue_.empty();
          },
          this));
      if (stopping_) return;
      batch.swap(queue_);
      has_work_.store(false, std::memory_order_relaxed);
    }
    RunBatch(batch);
    if (step_delay_ > absl::ZeroDuration()) absl::SleepFor(step_delay_);
  }
}

namespace {

// Execution state of one request within a batch.
struct Cursor {
  SessionWork* work = nullptr;
  int next_op = 0;
  // Per append op, in order: where its logits go.
  std::vector<fm::v1::SequenceLogits*> results;
  std::vector<std::vector<float>> logits;
  std::vector<int> append_index;  // op index -> index into results, or -1
  bool failed = false;
};

void SetError(fm::v1::SessionResponse* response, const absl::Status& s) {
  response->clear_results();
  response->mutable_error()->set_code(static_cast<int>(s.code()));
  response->mutable_error()->set_message(std::string(s.message()));
}

}  // namespace

namespace {

// One batched forward pass in the metrics: its time, sequences and tokens.
void ObserveForward(const std::vector<ForwardItem>& items,
                    std::chrono::steady_clock::duration elapsed) {
  const ModelMetrics& metrics = ModelMetrics::Get();
  size_t tokens = 0;
  for (const ForwardItem& item : items) tokens += item.tokens.size();
  metrics.forward_seconds->Observe(
      std::chrono::duration<double>(elapsed).count());
  metrics.batch_sequences->Observe(static_cast<double>(items.size()));
  metrics.batch_tokens->Observe(static_cast<double>(tokens));
  metrics.processed_tokens->Increment(static_cast<double>(tokens));
}

}  // namespace

void ComputeLoop::RunBatch(std::vector<SessionWork>& batch) {
  const auto start = std::chrono::steady_clock::now();
  const ModelInfo& info = model_->info();
  std::vector<Cursor> cursors;
  cursors.reserve(batch.size());
  for (SessionWork& w : batch) {
    w.response->Clear();
    w.response->set_request_id(w.request->request_id());
    absl::Status valid =
        ValidateSessionRequest(*w.cache, w.max_sequences, info, *w.request);
    if (!valid.ok()) {
      SetError(w.response, valid);
      continue;
    }
    Cursor c;
    c.work = &w;
    c.append_index.assign(w.request->ops_size(), -1);
    for (int i = 0; i < w.request->ops_size(); ++i) {
      if (w.request->ops(i).has_append()) {
        c.append_index[i] = static_cast<int>(c.results.size());
        c.results.push_back(w.response->add_results());
      }
    }
    c.logits.resize(c.results.size());
    cursors.push_back(std::move(c));
  }

  // Phases: each request contributes its next run of appends (to distinct
  // sequences); all of them run as one Forward.
  int32_t batch_sequences = 0;
  for (;;) {
    std::vector<ForwardItem> items;
    std::vector<std::pair<Cursor*, int>> item_ops;  // (cursor, op index)
    for (Cursor& c : cursors) {
      if (c.failed) continue;
      const auto& ops = c.work->request->ops();
      // Apply structural ops up to the next append.
      for (; c.next_op < ops.size() && !ops[c.next_op].has_append();
           ++c.next_op) {
        const fm::v1::SequenceOp& op = ops[c.next_op];
        absl::Status s;
        if (op.has_fork()) {
          const int32_t n = op.fork().length() == 0 ? -1 : op.fork().length();
          s = c.work->cache
                  ->Fork(op.fork().source_sequence_id(),
                         op.fork().new_sequence_id(), n)
                  .status();
        } else if (op.has_drop()) {
          s = c.work->cache->Drop(op.drop().sequence_id());
        } else {
          s = c.work->cache->Truncate(op.truncate().sequence_id(),
                                      op.truncate().length());
        }
        if (!s.ok()) {  // validated above: an internal inconsistency
          SetError(c.work->response, absl::InternalError(s.ToString()));
          c.failed = true;
          break;
        }
      }
      if (c.failed) continue;
      // Take consecutive appends to distinct sequences.
      std::vector<int32_t> used;
      for (; c.next_op < ops.size() && ops[c.next_op].has_append();
           ++c.next_op) {
        const fm::v1::AppendOp& a = ops[c.next_op].append();
        if (std::find(used.begin(), used.end(), a.sequence_id()) !=
            used.end()) {
          break;  // same sequence twice: next phase
        }
        used.push_back(a.sequence_id());
        KvSequence* seq = c.work->cache->Find(a.sequence_id());
        if (seq == nullptr) seq = *c.work->cache->Create(a.sequence_id());
        ForwardItem item;
        item.seq = seq;
        item.tokens =
            absl::MakeConstSpan(a.token_ids().data(), a.token_ids_size());
        item.all_logits = a.all_logits();
        item.logits = &c.logits[c.append_index[c.next_op]];
        items.push_back(item);
        item_ops.emplace_back(&c, c.next_op);
      }
    }
    if (items.empty()) break;
    batch_sequences += static_cast<int32_t>(items.size());
    const auto forward_start = std::chrono::steady_clock::now();
    absl::Status s = model_->Forward(items);
    ObserveForward(items, std::chrono::steady_clock::now() - forward_start);
    for (size_t k = 0; k < items.size(); ++k) {
      Cursor* c = item_ops[k].first;
      if (c->failed) continue;
      if (!s.ok()) {
        SetError(c->work->response, s);
        c->failed = true;
        continue;
      }
      const fm::v1::AppendOp& a =
          c->work->request->ops(item_ops[k].second).append();
      fm::v1::SequenceLogits* out =
          c->results[c->append_index[item_ops[k].second]];
      out->set_sequence_id(a.sequence_id());
      out->set_length(items[k].seq->size());
      const std::vector<float>& logits = *items[k].logits;
      const size_t vocab = static_cast<size_t>(info.vocab_size);
      for (size_t row = 0; row * vocab < logits.size(); ++row) {
        EncodeLogits(absl::MakeConstSpan(logits.data() + row * vocab, vocab),
                     c->work->request->logits_format(), out->add_logits(),
                     a.allowed_ids());
      }
    }
  }
  last_batch_sequences_ = batch_sequences;
  const double us = std::chrono::duration<double, std::micro>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  for (SessionWork& w : batch) {
    w.response->set_compute_us(us);
    w.response->set_batch_sequences(batch_sequences);
    w.done();
  }
}

}  // namespace fm::model
