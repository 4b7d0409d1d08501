#ifndef TOKENGUARD_DECISION_HPP
#define TOKENGUARD_DECISION_HPP

/// The answer for one request: a reason, and what the gateway may pass on.
/// A plain value that owns its strings (bounded, inline), so that it stays
/// valid after the store it came from has been replaced.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tokenguard/address.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/reason.hpp"
#include "tokenguard/usage.hpp"

namespace tokenguard {

class decision {
 public:
  decision() noexcept = default;
  explicit decision(reason why) noexcept : reason_(why) {}

  [[nodiscard]] bool allowed() const noexcept { return reason_ == reason::allowed; }
  [[nodiscard]] reason why() const noexcept { return reason_; }
  /// The identity acting: the token's user, or the Basic user name for a
  /// token without one. Empty on a deny.
  [[nodiscard]] std::string_view user() const noexcept { return {user_, user_size_}; }
  /// The token's label once the token is known, else empty.
  [[nodiscard]] std::string_view label() const noexcept { return {label_, label_size_}; }
  [[nodiscard]] std::string_view token_id() const noexcept { return {id_, id_size_}; }
  /// True when the request presented a token of the store (for audit).
  [[nodiscard]] bool token_known() const noexcept { return token_known_; }
  [[nodiscard]] usage_slot slot() const noexcept { return slot_; }
  /// The client address used for the ip check, when one was determined.
  [[nodiscard]] const std::optional<ip_address>& client() const noexcept { return client_; }

 private:
  friend class authorizer;

  static void copy(char* to, std::uint8_t& size, std::string_view from) noexcept {
    size = static_cast<std::uint8_t>(std::min<std::size_t>(from.size(), 255));
    std::copy_n(from.data(), size, to);
  }

  reason reason_ = reason::malformed_request;
  bool token_known_ = false;
  std::uint8_t user_size_ = 0, label_size_ = 0, id_size_ = 0;
  usage_slot slot_ = 0;
  std::optional<ip_address> client_;
  char user_[max_user_bytes];
  char label_[max_label_bytes];
  char id_[max_label_bytes];
};

}  // namespace tokenguard

#endif  // TOKENGUARD_DECISION_HPP
