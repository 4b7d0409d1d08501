#ifndef TOKENGUARD_DETAIL_ASCII_CASE_HPP
#define TOKENGUARD_DETAIL_ASCII_CASE_HPP

/// ASCII case folding, the only folding the rules and the user check know
/// (SPEC 3 and 5): 'a'-'z' are 'A'-'Z', every other byte is itself. Every
/// decision compares the request's method with the standard names and the
/// presented user with the token's; eight bytes are folded at once (SWAR), so
/// that both cost a few instructions rather than a loop of branches a byte.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace tokenguard::detail {

[[nodiscard]] constexpr char ascii_upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

namespace ascii_case_impl {

inline constexpr std::uint64_t ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t highs = 0x8080808080808080ULL;

/// Each byte lane of `x` upper-cased as ascii_upper does. A lane's bit 7 of
/// `low7 + (0x80 - c)` is set exactly where its low seven bits are >= c (no
/// carry crosses lanes: both addends are below 0x80); lanes >= 0x80 are no
/// letter.
[[nodiscard]] constexpr std::uint64_t upper8(std::uint64_t x) noexcept {
  const std::uint64_t low7 = x & ~highs;
  const std::uint64_t at_least_a = (low7 + (0x80 - 'a') * ones) & highs;
  const std::uint64_t above_z = (low7 + (0x80 - 'z' - 1) * ones) & highs;
  const std::uint64_t lower = at_least_a & ~above_z & ~(x & highs);
  return x ^ (lower >> 2);  // 0x80 >> 2 is 0x20, the case bit
}

/// The n bytes at p (sizeof(Word) <= n <= 2 * sizeof(Word)) from two loads of
/// a Word, the first and the last; the lanes they share hold the same byte.
template <class Word>
[[nodiscard]] inline std::uint64_t load_overlapping(const char* p, std::size_t n) noexcept {
  Word first = 0;
  Word last = 0;
  std::memcpy(&first, p, sizeof(Word));
  std::memcpy(&last, p + n - sizeof(Word), sizeof(Word));
  return first | (std::uint64_t{last} << (8 * (n - sizeof(Word))));
}

/// Bytes [at, at + n) of s (n <= 8) in the lanes of a word, the first in the
/// lowest lane, the rest zero. At run time at most two loads, never a byte
/// outside [at, at + n).
[[nodiscard]] constexpr std::uint64_t pack(std::string_view s, std::size_t at,
                                           std::size_t n) noexcept {
  std::uint64_t x = 0;
  if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
    const char* p = s.data() + at;
    if (n == 8) {
      std::memcpy(&x, p, 8);
    } else if (n >= 4) {
      x = load_overlapping<std::uint32_t>(p, n);
    } else if (n >= 2) {
      x = load_overlapping<std::uint16_t>(p, n);
    } else if (n == 1) {
      x = static_cast<unsigned char>(p[0]);
    }
    return x;
  }
  for (std::size_t i = 0; i < n; ++i) {
    x |= std::uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  }
  return x;
}

}  // namespace ascii_case_impl

/// Equal once both are upper-cased as ascii_upper does. Eight bytes a step;
/// the last step of a string of 8 bytes or more overlaps the one before it.
[[nodiscard]] constexpr bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  using ascii_case_impl::pack;
  using ascii_case_impl::upper8;
  if (a.size() != b.size()) return false;
  const std::size_t n = a.size();
  if (n < 8) return upper8(pack(a, 0, n)) == upper8(pack(b, 0, n));
  for (std::size_t i = 0; i + 8 < n; i += 8) {
    if (upper8(pack(a, i, 8)) != upper8(pack(b, i, 8))) return false;
  }
  return upper8(pack(a, n - 8, 8)) == upper8(pack(b, n - 8, 8));
}

/// A name of 1 to 8 bytes upper-cased in the lanes of a word (the first byte
/// in the lowest lane), else 0. Two names of the same size are iequals_ascii
/// exactly when their words are equal.
[[nodiscard]] constexpr std::uint64_t upper_packed(std::string_view s) noexcept {
  if (s.empty() || s.size() > 8) return 0;
  return ascii_case_impl::upper8(ascii_case_impl::pack(s, 0, s.size()));
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_ASCII_CASE_HPP
