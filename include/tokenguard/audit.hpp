#ifndef TOKENGUARD_AUDIT_HPP
#define TOKENGUARD_AUDIT_HPP

/// Audit records (SPEC 9 addAuditRecord): one per request that presented a
/// known token, allowed or denied. A record never holds the secret. Sinks are
/// called on request threads, so the JSON Lines sink formats into a reused
/// per-thread buffer and writes each line with one call under a mutex.

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "tokenguard/address.hpp"
#include "tokenguard/detail/durable_file.hpp"
#include "tokenguard/detail/json_text.hpp"
#include "tokenguard/reason.hpp"
#include "tokenguard/result.hpp"

namespace tokenguard {

/// Views into the caller's data, valid only during audit_sink::write: a sink
/// that keeps records for later must copy them.
struct audit_record {
  std::int64_t time_ms = 0;          ///< when the decision was made, ms since the epoch
  std::string_view token_id;         ///< the token's id (never its secret)
  std::string_view label;            ///< the token's label
  std::string_view identity;         ///< who acted; empty on a deny (no identity was established)
  std::string_view method;           ///< the request's method
  std::string_view subject_url;      ///< the URL as the server passes it (SPEC 4's subject URL)
  std::optional<ip_address> client;  ///< the client address (SPEC 6), when one was determined
  reason why = reason::allowed;
};

class audit_sink {
 public:
  virtual ~audit_sink() = default;
  /// Called from any thread; must not throw (token_service::audit also guards).
  virtual void write(const audit_record& record) = 0;
};

/// One JSON object a line:
/// {"time":...,"tokenId":"...","label":"...","identity":"...","method":"GET",
///  "subjectUrl":"...","clientAddress":"192.0.2.7","reason":"allowed"}
/// clientAddress is null when no client address was determined.
inline void append_audit_json(std::string& out, const audit_record& r) {
  out += R"({"time":)";
  out += std::to_string(r.time_ms);
  out += R"(,"tokenId":)";
  detail::append_json_string(out, r.token_id);
  out += R"(,"label":)";
  detail::append_json_string(out, r.label);
  out += R"(,"identity":)";
  detail::append_json_string(out, r.identity);
  out += R"(,"method":)";
  detail::append_json_string(out, r.method);
  out += R"(,"subjectUrl":)";
  detail::append_json_string(out, r.subject_url);
  out += R"(,"clientAddress":)";
  if (r.client) {
    std::array<char, ip_address::max_text_size> text{};
    detail::append_json_string(out, std::string_view(text.data(), r.client->format(text)));
  } else {
    out += "null";
  }
  out += R"(,"reason":)";
  detail::append_json_string(out, to_string(r.why));
  out += "}\n";
}

/// Writes JSON Lines to a stream it does not own, or to a file it opened in
/// append mode (0600 when created). Each line is written whole, with one
/// write(2) on a file, so lines from several threads or processes never mix.
class json_lines_audit_sink final : public audit_sink {
 public:
  explicit json_lines_audit_sink(std::ostream& out) : stream_(&out) {}

  /// Opens (creating if needed) `path` for appending.
  [[nodiscard]] static result<std::unique_ptr<json_lines_audit_sink>> open(
      const std::string& path) {
    detail::unique_fd fd(
        ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (fd.get() < 0) {
      return error{"cannot open the audit log '" + path + "': " + detail::errno_text(errno)};
    }
    return std::unique_ptr<json_lines_audit_sink>(new json_lines_audit_sink(std::move(fd)));
  }

  void write(const audit_record& record) override {
    try {
      thread_local std::string line;
      line.clear();
      append_audit_json(line, record);
      const std::lock_guard<std::mutex> lock(mutex_);
      if (stream_ != nullptr) {
        stream_->write(line.data(), static_cast<std::streamsize>(line.size()));
        stream_->flush();
        if (!stream_->good()) ++failed_writes_;
      } else if (!detail::write_all(fd_.get(), line)) {
        ++failed_writes_;
      }
    } catch (...) {
      ++failed_writes_;  // out of memory or a throwing stream: the record is lost, not the request
    }
  }

  /// Records that could not be written (a full disk, a closed stream).
  [[nodiscard]] std::uint64_t failed_writes() const noexcept { return failed_writes_.load(); }

 private:
  explicit json_lines_audit_sink(detail::unique_fd fd) : fd_(std::move(fd)) {}

  mutable std::mutex mutex_;
  std::ostream* stream_ = nullptr;
  detail::unique_fd fd_;
  std::atomic<std::uint64_t> failed_writes_{0};
};

}  // namespace tokenguard

#endif  // TOKENGUARD_AUDIT_HPP
