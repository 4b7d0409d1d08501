#ifndef TOKENGUARD_TOKEN_HPP
#define TOKENGUARD_TOKEN_HPP

/// A token as stored and exchanged (SPEC 2): the record that the loader reads,
/// the management API returns, and the store compiles. Plain data.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenguard {

struct token_record {
  std::string label;
  std::string user;
  std::optional<std::string> token;         ///< the secret; absent in secure mode
  std::optional<std::string> token_sha256;  ///< 64 hex digits
  std::string id;
  std::string limit_to;
  std::string ip;
  std::int64_t valid_until = 0;  ///< 0: never expires
  std::int64_t date_created = 0;
  std::uint64_t counter = 0;
  std::uint64_t usage_limit = 0;  ///< 0: unlimited
  std::string author_key;
  std::string user_key;
  std::string user_display_name;
  std::int64_t last_used = 0;  ///< usage details; 0: never recorded
  std::string last_ip;
  /// Fields this version does not know, kept as minified `"name":value`
  /// members joined by commas, so that rewriting an owned store loses nothing.
  std::string extra_members;
  /// Set by the loader when a field has the wrong type or range; such a token
  /// is reported and cannot authenticate.
  std::string load_error;
};

namespace detail {

/// What a compiled snapshot needs of a token, as views into a parsed document:
/// loading a store for a gateway (load_store_json) reads these instead of
/// token_records, and so skips a heap string per field and most of the
/// memory of a large store's records.
struct token_view {
  std::string_view label;
  std::string_view user;
  std::optional<std::string_view> token;
  std::optional<std::string_view> token_sha256;
  std::string_view id;
  std::string_view limit_to;
  std::string_view ip;
  std::int64_t valid_until = 0;
  std::uint64_t counter = 0;
  std::uint64_t usage_limit = 0;
  std::string load_error;  ///< as token_record's
};

}  // namespace detail

}  // namespace tokenguard

#endif  // TOKENGUARD_TOKEN_HPP
