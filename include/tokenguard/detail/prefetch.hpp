#ifndef TOKENGUARD_DETAIL_PREFETCH_HPP
#define TOKENGUARD_DETAIL_PREFETCH_HPP

/// Cache prefetch hints. Once a decision has found its token, the usage
/// counter, the token's strings and its rule set are independent cache misses
/// in a large store; asking for all of them at once lets them overlap instead
/// of being paid one after another. Hints only: no effect on any result.

#include <cstddef>

namespace tokenguard::detail {

inline void prefetch_for_read(const void* address) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address, 0, 3);
#else
  (void)address;
#endif
}

inline void prefetch_for_write(const void* address) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address, 1, 3);
#else
  (void)address;
#endif
}

/// The cache lines of `bytes` bytes from `data`, one hint a line.
inline void prefetch_range_for_read(const void* data, std::size_t bytes) noexcept {
  const auto* first = static_cast<const char*>(data);
  for (std::size_t at = 0; at < bytes; at += 64) prefetch_for_read(first + at);
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_PREFETCH_HPP
