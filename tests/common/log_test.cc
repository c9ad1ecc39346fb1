// Log lines in both formats, with the thread's request id, and the rules
// for request ids a client may send.
#include "common/log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/request_id.h"

namespace fm {
namespace {

// What `log` writes to stderr, captured through a temporary file.
template <typename Fn>
std::string CaptureStderr(Fn log) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(file), STDERR_FILENO);
  log();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string text;
  std::rewind(file);
  for (int c; (c = std::fgetc(file)) != EOF;)
    text.push_back(static_cast<char>(c));
  std::fclose(file);
  return text;
}

TEST_CASE("log lines carry the thread's request id, as text or JSON", "[log]") {
  SetLogComponent("fm-test");
  SECTION("text") {
    SetLogFormat(LogFormat::kText);
    const std::string line = CaptureStderr([] {
      const ScopedRequestId id("req-42");
      FM_LOG(WARNING) << "resuming";
    });
    CHECK(line.rfind("W ", 0) == 0);
    CHECK_THAT(line, Catch::Contains(" fm-test log_test.cc:"));
    CHECK_THAT(line, Catch::EndsWith("] [req-42] resuming\n"));
  }
  SECTION("JSON, fields in order, invalid UTF-8 replaced") {
    SetLogFormat(LogFormat::kJson);
    const std::string line = CaptureStderr([] {
      const ScopedRequestId id("req-42");
      LogEvent(LogSeverity::kInfo, "dir/file.cc", 7, "rpc \xff",
               {{"code", "OK"}, {"duration_ms", "1.500"}}, "");
    });
    SetLogFormat(LogFormat::kText);
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);  // one line
    const nlohmann::json j = nlohmann::json::parse(line);
    CHECK(j["level"] == "INFO");
    CHECK(j["component"] == "fm-test");
    CHECK(j["source"] == "file.cc:7");
    CHECK(j["request_id"] == "req-42");
    CHECK(j["message"] == "rpc \xEF\xBF\xBD");
    CHECK(j["code"] == "OK");
    CHECK(j["duration_ms"] == "1.500");
    CHECK(j["time"].get<std::string>().size() == 24);  // ...T..:..:..._Z
  }
  SECTION("an explicit id wins; none outside a scope") {
    SetLogFormat(LogFormat::kJson);
    const std::string lines = CaptureStderr([] {
      {
        const ScopedRequestId outer("outer");
        {
          const ScopedRequestId inner("inner");
          LogEvent(LogSeverity::kInfo, "f.cc", 1, "a", {}, "given");
          FM_LOG(INFO) << "b";
        }
        FM_LOG(INFO) << "c";
      }
      FM_LOG(INFO) << "d";
    });
    SetLogFormat(LogFormat::kText);
    std::vector<nlohmann::json> parsed;
    size_t start = 0;
    for (size_t end; (end = lines.find('\n', start)) != std::string::npos;
         start = end + 1) {
      parsed.push_back(nlohmann::json::parse(lines.substr(start, end - start)));
    }
    REQUIRE(parsed.size() == 4);
    CHECK(parsed[0]["request_id"] == "given");
    CHECK(parsed[1]["request_id"] == "inner");
    CHECK(parsed[2]["request_id"] == "outer");
    CHECK(!parsed[3].contains("request_id"));
  }
}

TEST_CASE("request ids: fresh ones are unique hex, client ones are checked",
          "[log]") {
  const std::string a = NewRequestId(), b = NewRequestId();
  CHECK(a.size() == 16);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
  CHECK(IsValidRequestId(a));
  CHECK(IsValidRequestId("client-7f3a_OK.1"));
  CHECK(IsValidRequestId(std::string(kMaxRequestIdBytes, 'x')));
  CHECK_FALSE(IsValidRequestId(""));
  CHECK_FALSE(IsValidRequestId(std::string(kMaxRequestIdBytes + 1, 'x')));
  CHECK_FALSE(IsValidRequestId("has space"));
  CHECK_FALSE(IsValidRequestId("quote\""));
  CHECK_FALSE(IsValidRequestId("back\\slash"));
  CHECK_FALSE(IsValidRequestId("new\nline"));
  CHECK_FALSE(IsValidRequestId("caf\xc3\xa9"));
}

}  // namespace
}  // namespace fm
