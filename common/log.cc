// Implementation of FM_LOG and LogEvent: one line per event, written with
// a single write so that lines from different threads never interleave.
#include "common/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/request_id.h"

namespace fm {
namespace {

LogSeverity SeverityFromEnv() {
  const char* env = std::getenv("FM_LOG_LEVEL");
  if (env == nullptr) return LogSeverity::kInfo;
  if (std::strcmp(env, "DEBUG") == 0) return LogSeverity::kDebug;
  if (std::strcmp(env, "WARNING") == 0) return LogSeverity::kWarning;
  if (std::strcmp(env, "ERROR") == 0) return LogSeverity::kError;
  return LogSeverity::kInfo;
}

std::atomic<int>& MinSeverity() {
  static std::atomic<int> severity{static_cast<int>(SeverityFromEnv())};
  return severity;
}

std::atomic<const char*>& Component() {
  static std::atomic<const char*> component{"fm"};
  return component;
}

std::atomic<int>& Format() {
  static std::atomic<int> format{static_cast<int>(LogFormat::kText)};
  return format;
}

const char* SeverityName(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug:
      return "DEBUG";
    case LogSeverity::kInfo:
      return "INFO";
    case LogSeverity::kWarning:
      return "WARNING";
    case LogSeverity::kError:
      return "ERROR";
  }
  return "?";
}

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug: return 'D';
    case LogSeverity::kInfo: return 'I';
    case LogSeverity::kWarning: return 'W';
    case LogSeverity::kError: return 'E';
  }
  return '?';
}

}  // namespace

void SetMinLogSeverity(LogSeverity severity) {
  MinSeverity().store(static_cast<int>(severity));
}

LogSeverity MinLogSeverity() {
  return static_cast<LogSeverity>(MinSeverity().load());
}

void SetLogComponent(const char* component) { Component().store(component); }

void SetLogFormat(LogFormat format) {
  Format().store(static_cast<int>(format));
}

void LogEvent(LogSeverity severity, const char* file, int line,
              const std::string& message, const LogFields& fields,
              const std::string& request_id) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm utc;
  gmtime_r(&tv.tv_sec, &utc);
  char stamp[40];
  const size_t n =
      std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%03dZ",
                static_cast<int>(tv.tv_usec / 1000));
  const char* base = std::strrchr(file, '/');
  const std::string source =
      absl::StrCat(base != nullptr ? base + 1 : file, ":", line);
  const std::string& id = request_id.empty() ? CurrentRequestId() : request_id;
  std::string text;
  if (static_cast<LogFormat>(Format().load()) == LogFormat::kJson) {
    nlohmann::ordered_json j;
    j["time"] = stamp;
    j["level"] = SeverityName(severity);
    j["component"] = Component().load();
    j["source"] = source;
    if (!id.empty()) j["request_id"] = id;
    j["message"] = message;
    for (const auto& [key, value] : fields) j[key] = value;
    // Invalid UTF-8 in a message becomes U+FFFD instead of an exception.
    text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    text = absl::StrCat(std::string(1, SeverityLetter(severity)), " ", stamp,
                        " ", Component().load(), " ", source, "] ");
    if (!id.empty()) absl::StrAppend(&text, "[", id, "] ");
    absl::StrAppend(&text, message);
    for (const auto& [key, value] : fields) {
      absl::StrAppend(&text, " ", key, "=", value);
    }
  }
  text += '\n';
  // One write(2) keeps concurrent lines whole.
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

LogMessage::LogMessage(LogSeverity severity, const char* file, int line)
    : severity_(severity), file_(file), line_(line) {}

LogMessage::~LogMessage() {
  LogEvent(severity_, file_, line_, stream_.str(), {}, "");
}

}  // namespace fm
