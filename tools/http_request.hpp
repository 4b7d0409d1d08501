#ifndef TOKENGUARD_TOOLS_HTTP_REQUEST_HPP
#define TOKENGUARD_TOOLS_HTTP_REQUEST_HPP

// One HTTP request as `tokenguard serve` sees it: a Boost.Beast parser that
// keeps only the request line, the few headers the server reads and the body,
// in buffers owned by the connection and reused from request to request, so
// that a keep-alive connection allocates nothing once it is warm.

#include <array>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokenguard::cli::http {

namespace beast = boost::beast;

/// The headers the server reads; every other header is skipped.
enum class header : std::uint8_t {
  authorization,
  x_forwarded_for,
  x_original_method,
  x_original_uri,
  x_forwarded_method,
  x_forwarded_proto,
  x_forwarded_host,
  x_forwarded_uri,
  expect,
};
inline constexpr std::size_t header_count = 9;
inline constexpr std::array<std::string_view, header_count> header_names = {
    "authorization",    "x-forwarded-for",    "x-original-method",
    "x-original-uri",   "x-forwarded-method", "x-forwarded-proto",
    "x-forwarded-host", "x-forwarded-uri",    "expect",
};

[[nodiscard]] constexpr char lower_ascii(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

/// Which of the read headers this is, by name (ASCII case-insensitive).
[[nodiscard]] constexpr int find_header(std::string_view name) noexcept {
  if (name.size() < 6 || name.size() > 18) return -1;
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(name, header_names[i])) return static_cast<int>(i);
  }
  return -1;
}

/// The parsed request. Views point into the connection's buffers and stay
/// valid until the next request on the same connection starts.
struct incoming {
  std::string_view method;
  std::string_view target;
  int version = 11;
  bool keep_alive = true;
  std::string_view body;
  std::array<std::string_view, header_count> headers{};
  /// How many times each header occurred (X-Forwarded-For values are joined).
  std::array<std::uint8_t, header_count> occurrences{};

  [[nodiscard]] std::string_view get(header h) const noexcept {
    return headers[static_cast<std::size_t>(h)];
  }
  [[nodiscard]] unsigned count(header h) const noexcept {
    return occurrences[static_cast<std::size_t>(h)];
  }
  [[nodiscard]] bool has(header h) const noexcept { return count(h) != 0; }
};

/// Storage reused by every request of one connection.
struct request_storage {
  /// Request line and header values, at offsets (the string may grow while a
  /// header is being read, so views are made only once the header is done).
  std::string text;
  std::string body;
};

inline constexpr std::size_t kept_body_capacity = std::size_t{64} * 1024;

/// Parses one request into `request_storage`; make a new one per request
/// (Beast parsers are single-use; this one allocates nothing itself).
class capture_parser final : public beast::http::basic_parser<true> {
 public:
  capture_parser(request_storage& storage, std::uint32_t header_limit, std::uint64_t body_limit)
      : storage_(storage) {
    storage_.text.clear();
    storage_.body.clear();
    // A connection keeps its buffers between requests, but not a large body's.
    if (storage_.body.capacity() > kept_body_capacity) std::string().swap(storage_.body);
    this->header_limit(header_limit);
    this->body_limit(body_limit);
  }

  /// The request, once is_header_done() (and its body once is_done()).
  [[nodiscard]] incoming view() const noexcept {
    incoming in;
    const std::string& t = storage_.text;
    in.method = std::string_view(t).substr(method_.offset, method_.size);
    in.target = std::string_view(t).substr(target_.offset, target_.size);
    in.version = version_;
    in.keep_alive = keep_alive();
    in.body = storage_.body;
    for (std::size_t i = 0; i < header_count; ++i) {
      if (occurrences_[i] != 0) {
        in.headers[i] = std::string_view(t).substr(values_[i].offset, values_[i].size);
      }
    }
    in.occurrences = occurrences_;
    return in;
  }

 private:
  struct span {
    std::size_t offset = 0;
    std::size_t size = 0;
  };

  span append(std::string_view s) {
    span out{storage_.text.size(), s.size()};
    storage_.text.append(s);
    return out;
  }

  void on_request_impl(beast::http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override {
    method_ = append({method.data(), method.size()});
    target_ = append({target.data(), target.size()});
    version_ = version;
  }

  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = beast::http::error::bad_method;  // never called for a request parser
  }

  void on_field_impl(beast::http::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    const int which = find_header({name.data(), name.size()});
    if (which < 0) return;
    const auto i = static_cast<std::size_t>(which);
    const std::string_view v(value.data(), value.size());
    if (occurrences_[i] != 0xFF) ++occurrences_[i];
    if (occurrences_[i] == 1) {
      values_[i] = append(v);
    } else if (i == static_cast<std::size_t>(header::x_forwarded_for)) {
      // Several X-Forwarded-For headers are one list (RFC 9110 5.3). The
      // earlier value is moved to the end so that the joined list is
      // contiguous; the header limit bounds the total.
      const std::string earlier(storage_.text, values_[i].offset, values_[i].size);
      values_[i] = append(earlier);
      storage_.text.append(", ");
      storage_.text.append(v);
      values_[i].size += 2 + v.size();
    }
    // Other repeated headers: only the count matters (the caller refuses them).
  }

  void on_header_impl(beast::error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (length && *length <= (std::uint64_t{1} << 30)) storage_.body.reserve(*length);
  }

  std::size_t on_body_impl(beast::string_view part, beast::error_code&) override {
    storage_.body.append(part.data(), part.size());
    return part.size();
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view part,
                                 beast::error_code&) override {
    storage_.body.append(part.data(), part.size());
    return part.size();
  }

  void on_finish_impl(beast::error_code&) override {}

  request_storage& storage_;
  span method_, target_;
  int version_ = 11;
  std::array<span, header_count> values_{};
  std::array<std::uint8_t, header_count> occurrences_{};
};

}  // namespace tokenguard::cli::http

#endif  // TOKENGUARD_TOOLS_HTTP_REQUEST_HPP
