// absl::Status <-> grpc::Status: every code survives both ways, messages
// are kept, and the component is named on the way in.
#include "common/status_util.h"

#include <catch2/catch.hpp>

namespace fm {
namespace {

TEST_CASE("every code maps to the same number both ways", "[status]") {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status in(static_cast<absl::StatusCode>(code), "boom");
    const grpc::Status wire = ToGrpcStatus(in);
    CHECK(static_cast<int>(wire.error_code()) == code);
    CHECK(wire.error_message() == "boom");
    const absl::Status back = FromGrpcStatus(wire, "model");
    CHECK(static_cast<int>(back.code()) == code);
    CHECK(back.message() == "model: boom");
  }
}

TEST_CASE("OK stays OK without a message", "[status]") {
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  CHECK(FromGrpcStatus(grpc::Status::OK, "sampler").ok());
}

TEST_CASE("codes outside google.rpc.Code become UNKNOWN", "[status]") {
  const grpc::Status odd(static_cast<grpc::StatusCode>(99), "odd");
  const absl::Status s = FromGrpcStatus(odd, "peer");
  CHECK(s.code() == absl::StatusCode::kUnknown);
  CHECK(s.message() == "peer: odd");
}

TEST_CASE("Annotate prefixes context and keeps the code", "[status]") {
  const absl::Status s =
      Annotate(absl::OutOfRangeError("position 9 >= 8"), "sequence 2");
  CHECK(s.code() == absl::StatusCode::kOutOfRange);
  CHECK(s.message() == "sequence 2: position 9 >= 8");
  CHECK(Annotate(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace fm
