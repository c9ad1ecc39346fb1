// Levelled logging to stderr, one line per event (this Abseil has no
// absl/log). Usage: FM_LOG(INFO) << "listening on " << addr;
// Lines are human-readable by default, JSON objects with
// SetLogFormat(kJson) (--log_format=json); either way they carry the
// request id of the thread's current request (ScopedRequestId).
#ifndef FM_COMMON_LOG_H_
#define FM_COMMON_LOG_H_

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fm {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this severity are dropped. Default kInfo; FM_LOG_LEVEL
// (DEBUG, INFO, WARNING, ERROR) in the environment overrides it at start.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();

// Sets the component name printed in every line (e.g. "fm-tokenizer").
void SetLogComponent(const char* component);

enum class LogFormat { kText, kJson };
void SetLogFormat(LogFormat format);

// Named values of one event, in order (an access log line's method, code,
// duration). Text: appended as key=value; JSON: members of the object.
using LogFields = std::vector<std::pair<std::string, std::string>>;

// Writes one line: `message`, `fields`, and `request_id` (when not empty;
// it overrides the thread's, for events logged off the request's thread).
void LogEvent(LogSeverity severity, const char* file, int line,
              const std::string& message, const LogFields& fields,
              const std::string& request_id);

// Collects one line and writes it atomically to stderr on destruction.
class LogMessage {
 public:
  LogMessage(LogSeverity severity, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// Swallows the stream when the severity is filtered out.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace fm

#define FM_LOG_SEVERITY_DEBUG ::fm::LogSeverity::kDebug
#define FM_LOG_SEVERITY_INFO ::fm::LogSeverity::kInfo
#define FM_LOG_SEVERITY_WARNING ::fm::LogSeverity::kWarning
#define FM_LOG_SEVERITY_ERROR ::fm::LogSeverity::kError

#define FM_LOG(severity)                                              \
  (FM_LOG_SEVERITY_##severity < ::fm::MinLogSeverity())               \
      ? (void)0                                                       \
      : ::fm::LogVoidify() &                                          \
            ::fm::LogMessage(FM_LOG_SEVERITY_##severity, __FILE__,    \
                             __LINE__)                                \
                .stream()

#endif  // FM_COMMON_LOG_H_
