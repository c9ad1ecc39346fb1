// Backends: the gateway's view of its downstream services: stubs created
// once, the facts generation needs (vocabulary, special ids, context length,
// identities) loaded from them, and a watcher that keeps the gateway's
// health SERVING only while all three services are.
#ifndef FM_SERVICES_GATEWAY_BACKENDS_H_
#define FM_SERVICES_GATEWAY_BACKENDS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/channel_factory.h"
#include "common/text/vocab_detokenizer.h"
#include "fm/v1/model.grpc.pb.h"
#include "fm/v1/tokenizer.grpc.pb.h"
#include "fm/v1/verifier.grpc.pb.h"
#include "services/gateway/route_table.h"

namespace fm::gateway {

// What the gateway knows about the tokenizer and model behind it; an
// immutable snapshot replaced when either changes.
struct PipelineFacts {
  std::shared_ptr<const text::VocabDetokenizer> vocab;
  fm::v1::TokenizerInfo tokenizer;
  fm::v1::ModelInfo model;
};

class Backends {
 public:
  // Fails (INVALID_ARGUMENT) on a malformed target list.
  static absl::StatusOr<std::unique_ptr<Backends>> Create(
      const std::string& tokenizer_target, const std::string& model_target,
      RouteTable* routes, const ChannelOptions& options);
  ~Backends();

  fm::v1::TokenizerService::Stub* tokenizer() const { return tokenizer_.get(); }
  fm::v1::ModelService::Stub* model() const { return model_.get(); }
  // After a model call broke: waits until the model channel is connected
  // again (see WaitForReconnect), or `deadline`; true when connected.
  bool WaitForModel(absl::Time deadline) const;
  RouteTable* routes() const { return routes_; }
  // Verifiers for best_of selection, by name: "NAME=ADDR" (flag syntax).
  // INVALID_ARGUMENT for a bad name, a duplicate or a bad address. Call
  // before serving.
  absl::Status AddVerifier(const std::string& flag);
  // nullptr for an unknown name.
  fm::v1::VerifierService::Stub* verifier(const std::string& name) const;

  // UNAVAILABLE until the tokenizer's vocabulary and the model's info have
  // been loaded (the watcher retries every period).
  absl::StatusOr<std::shared_ptr<const PipelineFacts>> Facts() const;

  // Polls the health of tokenizer, model and the default sampler route every
  // `period`, (re)loads the facts when needed, and reports overall health
  // through `on_health` (called on changes only).
  void StartWatcher(absl::Duration period, std::function<void(bool)> on_health);

  // Stops and joins the watcher; no on_health call happens after it.
  void StopWatcher();

  // True when the last poll found all three SERVING.
  bool healthy() const;

 private:
  Backends() = default;
  void WatchLoop(absl::Duration period, std::function<void(bool)> on_health);
  absl::Status LoadFacts();

  std::shared_ptr<grpc::Channel> tokenizer_channel_;
  std::shared_ptr<grpc::Channel> model_channel_;
  std::unique_ptr<fm::v1::TokenizerService::Stub> tokenizer_;
  std::unique_ptr<fm::v1::ModelService::Stub> model_;
  RouteTable* routes_ = nullptr;
  ChannelOptions channel_options_;
  std::map<std::string, std::unique_ptr<fm::v1::VerifierService::Stub>>
      verifiers_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const PipelineFacts> facts_ ABSL_GUARDED_BY(mu_);
  bool healthy_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_BACKENDS_H_
