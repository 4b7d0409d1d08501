#ifndef TOKENGUARD_REASON_HPP
#define TOKENGUARD_REASON_HPP

/// Why a request was allowed or denied. The names are part of the contract
/// (SPEC 7): the CLI prints them and the server sends them in a header.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tokenguard {

enum class reason : std::uint8_t {
  allowed,
  malformed_request,
  missing_credentials,
  malformed_credentials,
  scheme_not_enabled,
  unknown_token,
  user_mismatch,
  user_required,
  expired,
  ip_not_allowed,
  limit_to_mismatch,
  rule_too_complex,
  usage_exhausted,
};

inline constexpr std::size_t reason_count = 13;

inline constexpr std::array<std::string_view, reason_count> reason_names = {
    "allowed",
    "malformed_request",
    "missing_credentials",
    "malformed_credentials",
    "scheme_not_enabled",
    "unknown_token",
    "user_mismatch",
    "user_required",
    "expired",
    "ip_not_allowed",
    "limit_to_mismatch",
    "rule_too_complex",
    "usage_exhausted",
};

[[nodiscard]] constexpr std::string_view to_string(reason r) noexcept {
  return reason_names[static_cast<std::size_t>(r)];
}

[[nodiscard]] constexpr std::optional<reason> parse_reason(std::string_view name) noexcept {
  for (std::size_t i = 0; i < reason_count; ++i) {
    if (reason_names[i] == name) return static_cast<reason>(i);
  }
  return std::nullopt;
}

/// Rows 2-5 of SPEC 7: the caller did not prove who it is, so a server answers
/// 401 and asks for credentials; every other denial is 403.
[[nodiscard]] constexpr bool is_authentication_failure(reason r) noexcept {
  switch (r) {
    case reason::missing_credentials:
    case reason::malformed_credentials:
    case reason::scheme_not_enabled:
    case reason::unknown_token:
    case reason::user_mismatch:
    case reason::user_required:
    case reason::expired:
      return true;
    default:
      return false;
  }
}

}  // namespace tokenguard

#endif  // TOKENGUARD_REASON_HPP
