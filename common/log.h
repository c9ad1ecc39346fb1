// Minimal levelled logging to stderr (this Abseil has no absl/log).
// Usage: FM_LOG(INFO) << "listening on " << addr;
#ifndef FM_COMMON_LOG_H_
#define FM_COMMON_LOG_H_

#include <sstream>

namespace fm {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this severity are dropped. Default kInfo; FM_LOG_LEVEL
// (DEBUG, INFO, WARNING, ERROR) in the environment overrides it at start.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();

// Sets the component name printed in every line (e.g. "fm-tokenizer").
void SetLogComponent(const char* component);

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
