// BearerAuth's token files (the per-call check runs in the gateway's
// end-to-end tests).
#include "common/bearer_auth.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "tests/support/test_env.h"

namespace fm {
namespace {

TEST_CASE("token files: comments, blanks, whitespace, bad tokens named") {
  auto tokens = BearerAuth::ParseTokens(
      "# fmserve API tokens\n\n  0123456789abcdef0123  \nsecond-token-xyz-42\n",
      "tokens.txt");
  REQUIRE(tokens.ok());
  CHECK(*tokens == std::vector<std::string>{"0123456789abcdef0123",
                                            "second-token-xyz-42"});

  auto short_token = BearerAuth::ParseTokens("# c\nshort\n", "tokens.txt");
  REQUIRE_FALSE(short_token.ok());
  CHECK(short_token.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(short_token.status().message()),
             Catch::Contains("tokens.txt line 2") &&
                 Catch::Contains("5 characters") && Catch::Contains("16"));
  // The message never repeats the token itself.
  CHECK_THAT(std::string(short_token.status().message()),
             !Catch::Contains("short\n") && !Catch::Contains(": short"));

  auto spaced = BearerAuth::ParseTokens("two words in one token", "tokens.txt");
  REQUIRE_FALSE(spaced.ok());
  CHECK_THAT(std::string(spaced.status().message()),
             Catch::Contains("printable ASCII without spaces"));

  auto empty = BearerAuth::ParseTokens("# nothing\n\n", "tokens.txt");
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(std::string(empty.status().message()),
             Catch::Contains("holds no token"));
}

TEST_CASE("loading: no files means off, a missing file is an error") {
  auto off = BearerAuth::Load("", "");
  REQUIRE(off.ok());
  CHECK_FALSE(off->enabled());

  auto missing = BearerAuth::Load("/nonexistent/tokens", "");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(std::string(missing.status().message()),
             Catch::Contains("/nonexistent/tokens"));

  const std::string path = testing::MakeTempDir() + "/admin";
  std::ofstream(path) << "admin-token-0123456789\n";
  auto admin_only = BearerAuth::Load("", path);
  REQUIRE(admin_only.ok());
  CHECK(admin_only->enabled());
}

}  // namespace
}  // namespace fm
