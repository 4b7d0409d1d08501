#ifndef TOKENGUARD_TOOLS_SERVE_LOG_HPP
#define TOKENGUARD_TOOLS_SERVE_LOG_HPP

// The server's log: one line on stderr per start, reload, signal and error,
// with a UTC time stamp. Callers never pass a secret (no header values).

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace tokenguard::cli {

/// One line on stderr, with a UTC time stamp; never a secret.
inline void log_line(const std::string& message) {
  static std::mutex mutex;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "%s tokenguard serve: %s\n", stamp, message.c_str());
  std::fflush(stderr);
}

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_SERVE_LOG_HPP
