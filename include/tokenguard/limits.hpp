#ifndef TOKENGUARD_LIMITS_HPP
#define TOKENGUARD_LIMITS_HPP

/// Size limits (SPEC 10). Every input over a limit is refused with an error
/// naming the limit; nothing is truncated.

#include <cstddef>
#include <cstdint>

namespace tokenguard {

struct limits {
  std::size_t max_store_bytes = std::size_t{256} << 20;
  std::size_t max_tokens = 10'000'000;
  std::size_t max_limit_to_bytes = std::size_t{64} << 10;
  std::size_t max_limit_to_lines = 256;
  std::size_t max_regex_bytes = 1024;
  /// Bounded above by hard_max_url_bytes: the canonical URL is built in a
  /// stack buffer so that the request path never allocates.
  std::size_t max_url_bytes = std::size_t{8} << 10;
  std::size_t max_body_bytes = std::size_t{1} << 20;
  /// Matching work one decision may spend over all its rule lines, in units of about one
  /// regex engine step; once spent, the decision is `rule_too_complex` unless a line already
  /// passed. The default keeps the worst decision of the pathology corpus near 4 ms of CPU
  /// (tests/rules_budget_test.cpp); 0 makes every rule line give up.
  std::int64_t match_budget_units = 1'500'000;
};

inline constexpr std::size_t hard_max_url_bytes = std::size_t{64} << 10;
/// Labels and user names are bounded so that a decision can carry them inline.
inline constexpr std::size_t max_label_bytes = 255;
inline constexpr std::size_t max_user_bytes = 255;

}  // namespace tokenguard

#endif  // TOKENGUARD_LIMITS_HPP
