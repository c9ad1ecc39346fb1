// Implementation of FM_LOG: one line per message, written with a single
// write so that lines from different threads never interleave.
#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/time.h>

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

LogMessage::LogMessage(LogSeverity severity, const char* file, int line)
    : severity_(severity) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm utc;
  gmtime_r(&tv.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  const char* base = std::strrchr(file, '/');
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03d",
                static_cast<int>(tv.tv_usec / 1000));
  stream_ << SeverityLetter(severity_) << ' ' << stamp << millis << "Z "
          << Component().load()
          << ' ' << (base != nullptr ? base + 1 : file) << ':' << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  const std::string text = stream_.str();
  // One write(2) keeps concurrent lines whole.
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

}  // namespace fm
