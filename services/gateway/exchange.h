// Exchange: a bidi stream used as request/response pairs (the model and
// sampler sessions), with broken streams and in-band errors turned into
// statuses that name the service, and a clean end in every case.
#ifndef FM_SERVICES_GATEWAY_EXCHANGE_H_
#define FM_SERVICES_GATEWAY_EXCHANGE_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "fm/v1/model.grpc.pb.h"
#include "fm/v1/sampler.grpc.pb.h"

namespace fm::gateway {

// A bidi stream used as request/response pairs, with errors turned into
// statuses that name the service.
template <typename Req, typename Resp>
class Exchange {
 public:
  Exchange(std::unique_ptr<grpc::ClientContext> ctx, const char* service)
      : ctx_(std::move(ctx)), service_(service) {}
  grpc::ClientContext* ctx() { return ctx_.get(); }
  void Open(std::unique_ptr<grpc::ClientReaderWriter<Req, Resp>> stream) {
    stream_ = std::move(stream);
  }
  absl::StatusOr<Resp> Call(const Req& request) {
    if (stream_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(service_, ": session already closed"));
    }
    Resp response;
    if (!stream_->Write(request) || !stream_->Read(&response)) {
      // The stream is over: collect its status (Finish may run only once).
      const grpc::Status status = stream_->Finish();
      stream_.reset();
      return FromGrpcStatus(status, service_);
    }
    if (response.has_error()) {
      const int code = response.error().code();
      return absl::Status(
          code > 0 && code <= 16 ? static_cast<absl::StatusCode>(code)
                                 : absl::StatusCode::kUnknown,
          absl::StrCat(service_, ": ", response.error().message()));
    }
    return response;
  }
  // Half-closes and collects the final status (the session ends cleanly).
  void Close() {
    if (stream_ == nullptr) return;
    stream_->WritesDone();
    stream_->Finish();
    stream_.reset();
  }
  ~Exchange() {
    if (stream_ != nullptr) {
      ctx_->TryCancel();
      stream_->Finish();
    }
  }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  const char* service_;
  std::unique_ptr<grpc::ClientReaderWriter<Req, Resp>> stream_;
};

using ModelExchange = Exchange<fm::v1::SessionRequest, fm::v1::SessionResponse>;
using SamplerExchange =
    Exchange<fm::v1::SamplerSessionRequest, fm::v1::SamplerSessionResponse>;

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_EXCHANGE_H_
