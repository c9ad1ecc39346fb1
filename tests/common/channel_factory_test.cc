// MakeChannel: address lists are parsed and resolved, bad ones are refused
// with a message naming the entry.
#include "common/channel_factory.h"

#include <string>

#include <catch2/catch.hpp>

namespace fm {
namespace {

TEST_CASE("single and listed loopback addresses make channels", "[channel]") {
  CHECK(MakeChannel("127.0.0.1:50051").ok());
  CHECK(MakeChannel("127.0.0.1:1,127.0.0.1:2").ok());
  CHECK(MakeChannel("localhost:1, 127.0.0.1:2").ok());
  CHECK(MakeChannel("[::1]:1,[::1]:2").ok());
}

TEST_CASE("malformed address lists are INVALID_ARGUMENT", "[channel]") {
  for (const char* bad : {"", "127.0.0.1:1,", "127.0.0.1,127.0.0.1:2",
                          "127.0.0.1:x,127.0.0.1:2", "[::1:5,127.0.0.1:1"}) {
    INFO(bad);
    auto channel = MakeChannel(bad);
    REQUIRE_FALSE(channel.ok());
    CHECK(channel.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("unreadable TLS files are reported", "[channel]") {
  ChannelOptions options;
  options.tls_ca = "/nonexistent/ca.pem";
  auto channel = MakeChannel("127.0.0.1:1", options);
  REQUIRE_FALSE(channel.ok());
  CHECK(channel.status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fm
