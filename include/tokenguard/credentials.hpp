#ifndef TOKENGUARD_CREDENTIALS_HPP
#define TOKENGUARD_CREDENTIALS_HPP

/// The `Authorization` header -> (scheme, user, secret) (SPEC 5). Request
/// path: noexcept, no heap; a Basic header is decoded into caller scratch.

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tokenguard/detail/ascii_case.hpp"
#include "tokenguard/detail/base64.hpp"

namespace tokenguard {

/// Which schemes a deployment accepts. Default basic, as the original.
enum class auth_mode : std::uint8_t { basic, bearer, both };
enum class auth_scheme : std::uint8_t { basic, bearer };
enum class credentials_status : std::uint8_t { ok, missing, malformed, scheme_not_enabled };

struct credentials {
  auth_scheme scheme = auth_scheme::basic;
  /// Basic only (may be empty; the caller decides what an empty user means); empty for Bearer
  std::string_view user;
  std::string_view secret;  ///< never empty when status is ok
};

/// Largest Authorization header accepted; longer is `malformed` (a documented limit).
inline constexpr std::size_t max_authorization_bytes = 4096;

namespace detail::credentials_impl {

[[nodiscard]] constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

[[nodiscard]] constexpr std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Bearer tokens: space and ASCII controls (which HTTP field values cannot
/// carry anyway, and which include NUL) are refused; bytes >= 0x80 pass.
[[nodiscard]] constexpr bool is_bearer_byte(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}

[[nodiscard]] constexpr bool mode_enables(auth_mode mode, auth_scheme scheme) noexcept {
  switch (mode) {
    case auth_mode::basic:
      return scheme == auth_scheme::basic;
    case auth_mode::bearer:
      return scheme == auth_scheme::bearer;
    case auth_mode::both:
      return true;
  }
  return false;
}

}  // namespace detail::credentials_impl

/// scratch must hold max_authorization_bytes bytes; Basic user/secret point
/// into it, Bearer secret into `header`. Unless the status is ok, `out` holds
/// empty views; its scheme is the one presented when that was Basic or Bearer.
[[nodiscard]] inline credentials_status parse_authorization(std::string_view header, auth_mode mode,
                                                            char* scratch,
                                                            credentials& out) noexcept {
  namespace impl = detail::credentials_impl;
  out = credentials{};
  const std::string_view value = impl::trim_blanks(header);
  if (value.empty()) return credentials_status::missing;

  std::size_t scheme_end = 0;
  while (scheme_end < value.size() && !impl::is_blank(value[scheme_end])) ++scheme_end;
  const std::string_view scheme_name = value.substr(0, scheme_end);
  if (detail::iequals_ascii(scheme_name, "basic")) {
    out.scheme = auth_scheme::basic;
  } else if (detail::iequals_ascii(scheme_name, "bearer")) {
    out.scheme = auth_scheme::bearer;
  } else {
    return credentials_status::malformed;
  }
  // SPEC 5: a scheme the mode does not enable is refused as such, whatever
  // follows it; the size limit applies to the value as received after that.
  if (!impl::mode_enables(mode, out.scheme)) return credentials_status::scheme_not_enabled;
  if (header.size() > max_authorization_bytes) return credentials_status::malformed;

  // value is trimmed, so whatever follows the blanks is non-empty and ends in a non-blank.
  std::string_view rest = value.substr(scheme_end);
  if (rest.empty()) return credentials_status::malformed;
  rest = impl::trim_blanks(rest);

  if (out.scheme == auth_scheme::bearer) {
    for (const char c : rest) {
      if (!impl::is_bearer_byte(c)) return credentials_status::malformed;
    }
    out.secret = rest;
    return credentials_status::ok;
  }

  std::size_t decoded_len = 0;
  if (!detail::base64_decode_strict(rest, scratch, decoded_len)) {
    return credentials_status::malformed;
  }
  const std::string_view decoded(scratch, decoded_len);
  const std::size_t colon = decoded.find(':');
  if (colon == std::string_view::npos) return credentials_status::malformed;
  const std::string_view user = decoded.substr(0, colon);
  const std::string_view secret = decoded.substr(colon + 1);
  // NUL cannot be told apart from a C string's end by gateways and logs downstream.
  if (secret.empty() || decoded.find('\0') != std::string_view::npos) {
    return credentials_status::malformed;
  }
  out.user = user;
  out.secret = secret;
  return credentials_status::ok;
}

[[nodiscard]] constexpr std::string_view to_string(auth_mode mode) noexcept {
  switch (mode) {
    case auth_mode::basic:
      return "basic";
    case auth_mode::bearer:
      return "bearer";
    case auth_mode::both:
      return "both";
  }
  return "basic";
}

/// Exactly the names to_string gives (lower case, no blanks), as parse_reason does.
[[nodiscard]] constexpr std::optional<auth_mode> parse_auth_mode(std::string_view name) noexcept {
  if (name == "basic") return auth_mode::basic;
  if (name == "bearer") return auth_mode::bearer;
  if (name == "both") return auth_mode::both;
  return std::nullopt;
}

/// Constant-time equality of two byte strings of equal length (OpenSSL
/// CRYPTO_memcmp); false when lengths differ. Only the lengths leak.
[[nodiscard]] inline bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tokenguard

#endif  // TOKENGUARD_CREDENTIALS_HPP
