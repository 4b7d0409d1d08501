#ifndef TOKENGUARD_TOOLS_HTTP_RESPONSE_HPP
#define TOKENGUARD_TOOLS_HTTP_RESPONSE_HPP

// Writing an HTTP/1.1 response straight into a connection's reused buffer.
// The server's answers are small and few in shape, so they are serialized by
// hand: no header container, no allocation once the buffer is warm.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokenguard::cli::http {

[[nodiscard]] constexpr std::string_view status_text(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

/// True when `c` may appear as is in a header value that we send: visible
/// ASCII and space, but not `%` (the escape character itself).
[[nodiscard]] constexpr bool plain_header_byte(unsigned char c) noexcept {
  return c >= 0x20 && c <= 0x7E && c != '%';
}

/// Appends a value that came from the store or from a client (a label, a user
/// name) so that it can neither end the header nor be trimmed: bytes outside
/// visible ASCII, `%`, and a leading or trailing space are percent-encoded.
/// Plain values (the usual case) are sent unchanged.
inline void append_header_value(std::string& out, std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    const bool edge_space = c == ' ' && (i == 0 || i + 1 == value.size());
    if (plain_header_byte(c) && !edge_space) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
}

inline void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

/// Builds one response: start(), any header() calls, then finish().
class response_writer {
 public:
  explicit response_writer(std::string& out) : out_(out) {}

  void start(int status) {
    status_ = status;
    out_.append("HTTP/1.1 ");
    append_number(out_, static_cast<std::uint64_t>(status));
    out_.push_back(' ');
    out_.append(status_text(status));
    out_.append("\r\n");
  }
  /// A header whose value we wrote ourselves (no escaping needed).
  void header(std::string_view name, std::string_view value) {
    out_.append(name);
    out_.append(": ");
    out_.append(value);
    out_.append("\r\n");
  }
  /// A header whose value came from data (store, client).
  void header_escaped(std::string_view name, std::string_view value) {
    out_.append(name);
    out_.append(": ");
    append_header_value(out_, value);
    out_.append("\r\n");
  }
  /// Content-Length, the connection header and the body. `head` leaves the
  /// body out (HEAD requests) while keeping its length.
  void finish(std::string_view body, bool keep_alive, int request_version, bool head = false,
              std::string_view content_type = {}) {
    if (!content_type.empty()) header("Content-Type", content_type);
    out_.append("Content-Length: ");
    append_number(out_, body.size());
    out_.append("\r\n");
    if (!keep_alive) {
      out_.append("Connection: close\r\n");
    } else if (request_version < 11) {
      out_.append("Connection: keep-alive\r\n");
    }
    out_.append("\r\n");
    if (!head) out_.append(body);
  }
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  std::string& out_;
  int status_ = 0;
};

}  // namespace tokenguard::cli::http

#endif  // TOKENGUARD_TOOLS_HTTP_RESPONSE_HPP
