#ifndef TOKENGUARD_DETAIL_BASE64_HPP
#define TOKENGUARD_DETAIL_BASE64_HPP

/// Strict RFC 4648 section 4 base64. Only the canonical encoding of a byte
/// string is accepted, so one secret has exactly one accepted spelling.
///
/// The decoder maps characters with arithmetic instead of a lookup table and
/// scans the whole input before answering, because what it decodes is a Basic
/// secret: neither cache timing nor an early exit should depend on its bytes.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tokenguard::detail {

/// Bytes that decoding `encoded` input characters may produce (rounded up, so
/// any length is safe to size a buffer with).
[[nodiscard]] constexpr std::size_t base64_max_decoded_size(std::size_t encoded) noexcept {
  return encoded / 4 * 3 + (encoded % 4 != 0 ? 3 : 0);
}

namespace base64_impl {

/// 0..63 for a character of the standard alphabet, -1 for anything else
/// (including '='), without branches or tables.
[[nodiscard]] constexpr int decode_char(unsigned char byte) noexcept {
  const int c = byte;
  int v = -1;
  // Each ((lo - c) & (c - hi)) >> 8 is all ones exactly when lo < c < hi.
  v += (((0x40 - c) & (c - 0x5b)) >> 8) & (c - 64);  // 'A'..'Z' -> 1..26
  v += (((0x60 - c) & (c - 0x7b)) >> 8) & (c - 70);  // 'a'..'z' -> 27..52
  v += (((0x2f - c) & (c - 0x3a)) >> 8) & (c + 5);   // '0'..'9' -> 53..62
  v += (((0x2a - c) & (c - 0x2c)) >> 8) & 63;        // '+'
  v += (((0x2e - c) & (c - 0x30)) >> 8) & 64;        // '/'
  return v;
}

/// Eight characters at once in the lanes of a 64-bit word (SWAR), with the same
/// arithmetic as decode_char: no branch and no table depends on the bytes.
/// Writes 6 bytes to out; returns a word whose lane high bits are set for each
/// character outside the alphabet (so any non-zero result means invalid).
[[nodiscard]] inline std::uint64_t decode_block8(const char* in, char* out) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::uint64_t x = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&x, in, 8);
  } else {
    for (int i = 7; i >= 0; --i) x = (x << 8) | static_cast<unsigned char>(in[i]);
  }
  const std::uint64_t non_ascii = x & highs;
  const std::uint64_t low7 = x & ~highs;
  // Lane bit 7 is set exactly where the lane's 7-bit value is >= c (no carry
  // crosses lanes: both addends are below 0x80).
  const auto at_least = [low7](unsigned c) noexcept { return (low7 + (0x80 - c) * ones) & highs; };
  const auto in_range = [&at_least](unsigned lo, unsigned hi) noexcept {
    return at_least(lo) & ~at_least(hi + 1);
  };
  // Full-lane masks (0xff where the class holds).
  const std::uint64_t upper = (in_range('A', 'Z') >> 7) * 0xff;
  const std::uint64_t lower = (in_range('a', 'z') >> 7) * 0xff;
  const std::uint64_t digit = (in_range('0', '9') >> 7) * 0xff;
  const std::uint64_t plus = (in_range('+', '+') >> 7) * 0xff;
  const std::uint64_t slash = (in_range('/', '/') >> 7) * 0xff;
  const std::uint64_t valid = upper | lower | digit | plus | slash;
  // Per-lane offsets mod 256: 'A' -> 0, 'a' -> 26, '0' -> 52, '+' -> 62, '/' -> 63.
  const std::uint64_t offset = (upper & (0xbf * ones)) | (lower & (0xb9 * ones)) |
                               (digit & (0x04 * ones)) | (plus & (0x13 * ones)) |
                               (slash & (0x10 * ones));
  // Lane-wise add mod 256: low7 has no high bits, so only the offset's high bit is added apart.
  const std::uint64_t v = ((low7 + (offset & ~highs)) ^ (offset & highs)) & (0x3f * ones);
  // 6-bit lanes -> 12-bit values in 16-bit lanes -> 24-bit values in 32-bit lanes.
  const std::uint64_t pairs =
      ((v & 0x00ff00ff00ff00ffULL) << 6) | ((v >> 8) & 0x00ff00ff00ff00ffULL);
  const std::uint64_t quads =
      ((pairs & 0x0000ffff0000ffffULL) << 12) | ((pairs >> 16) & 0x0000ffff0000ffffULL);
  out[0] = static_cast<char>(quads >> 16);
  out[1] = static_cast<char>(quads >> 8);
  out[2] = static_cast<char>(quads);
  out[3] = static_cast<char>(quads >> 48);
  out[4] = static_cast<char>(quads >> 40);
  out[5] = static_cast<char>(quads >> 32);
  return non_ascii | (~valid & highs);
}

#if defined(__SSE2__)
/// Sixteen characters at once with SSE2 (part of every x86-64), the same
/// classes and offsets as decode_block8: compares and masks, no branch and no
/// table on the bytes. Writes 12 bytes to out and may write one more byte
/// after them (out[12], which the caller's next block or tail overwrites);
/// returns a non-zero mask when some character is outside the alphabet.
[[nodiscard]] inline int decode_block16(const char* in, char* out) noexcept {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
  // Signed compares: a byte >= 0x80 is negative, so it falls in no class.
  const auto in_range = [x](char lo, char hi) noexcept {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  const __m128i upper = in_range('A', 'Z');
  const __m128i lower = in_range('a', 'z');
  const __m128i digit = in_range('0', '9');
  const __m128i plus = _mm_cmpeq_epi8(x, _mm_set1_epi8('+'));
  const __m128i slash = _mm_cmpeq_epi8(x, _mm_set1_epi8('/'));
  const __m128i valid =
      _mm_or_si128(_mm_or_si128(_mm_or_si128(upper, lower), _mm_or_si128(digit, plus)), slash);
  // Per-lane offsets mod 256: 'A' -> 0, 'a' -> 26, '0' -> 52, '+' -> 62, '/' -> 63.
  const __m128i offset =
      _mm_or_si128(_mm_or_si128(_mm_and_si128(upper, _mm_set1_epi8(-65)),
                                _mm_and_si128(lower, _mm_set1_epi8(-71))),
                   _mm_or_si128(_mm_or_si128(_mm_and_si128(digit, _mm_set1_epi8(4)),
                                             _mm_and_si128(plus, _mm_set1_epi8(19))),
                                _mm_and_si128(slash, _mm_set1_epi8(16))));
  const __m128i v = _mm_and_si128(_mm_add_epi8(x, offset), _mm_set1_epi8(0x3f));
  // 6-bit lanes -> 12-bit values in 16-bit lanes -> 24-bit values in 32-bit lanes.
  const __m128i pairs = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00ff)), 6),
                                     _mm_srli_epi16(v, 8));
  const __m128i quads =
      _mm_or_si128(_mm_slli_epi32(_mm_and_si128(pairs, _mm_set1_epi32(0x0000ffff)), 12),
                   _mm_srli_epi32(pairs, 16));
  alignas(16) std::uint32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), quads);
  for (std::size_t j = 0; j < 4; ++j) {
    // The lane's three bytes, most significant first, then one spare byte.
    const std::uint32_t q = lanes[j];
    const char bytes[4] = {static_cast<char>(q >> 16), static_cast<char>(q >> 8),
                           static_cast<char>(q), 0};
    std::memcpy(out + 3 * j, bytes, 4);
  }
  return _mm_movemask_epi8(valid) ^ 0xFFFF;
}
#endif

inline constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace base64_impl

/// Strict RFC 4648 section 4 base64 (alphabet A-Z a-z 0-9 + /, '=' padding):
/// length a multiple of 4, padding only as the last one or two characters, no
/// whitespace, no URL-safe alphabet, and the unused low bits before padding
/// must be zero (canonical encoding only). Empty input decodes to empty.
/// Writes to out (needs base64_max_decoded_size(in.size()) bytes). On failure
/// out_len is 0 and the bytes of out are unspecified.
[[nodiscard]] inline bool base64_decode_strict(std::string_view in, char* out,
                                               std::size_t& out_len) noexcept {
  out_len = 0;
  if (in.size() % 4 != 0) return false;
  if (in.empty()) return true;

  // Lengths and padding are public; only the data characters are secret.
  std::size_t pad = 0;
  if (in[in.size() - 1] == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  const std::size_t data_chars = in.size() - pad;

  // Whole blocks of 16 and of 8 data characters first, then the rest one at a time.
  std::uint64_t bad_lanes = 0;
  std::size_t i = 0;
  std::size_t n = 0;
#if defined(__SSE2__)
  // Strictly before the last character: a block writes a spare byte past its
  // 12, which must land inside the output (a later block or the tail rewrites it).
  for (; i + 16 < data_chars; i += 16, n += 12) {
    bad_lanes |= static_cast<std::uint64_t>(base64_impl::decode_block16(in.data() + i, out + n));
  }
#endif
  for (; i + 8 <= data_chars; i += 8, n += 6) {
    bad_lanes |= base64_impl::decode_block8(in.data() + i, out + n);
  }

  int bad = -static_cast<int>(bad_lanes != 0);  // ORed with -1 by any invalid character.
  std::uint32_t acc = 0;
  int bits = 0;
  for (; i < data_chars; ++i) {
    const int v = base64_impl::decode_char(static_cast<unsigned char>(in[i]));
    bad |= v;  // negative iff some v was -1
    acc = (acc << 6) | (static_cast<std::uint32_t>(v) & 0x3f);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The leftover low bits (2 with one '=', 4 with two) must be zero.
  const std::uint32_t leftover = acc & ((std::uint32_t{1} << bits) - 1);
  if (bad < 0 || leftover != 0) return false;
  out_len = n;
  return true;
}

/// For tests and tools: standard padded encoding.
[[nodiscard]] inline std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t w = (std::uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(in[i + 2])};
    out += base64_impl::alphabet[(w >> 18) & 0x3f];
    out += base64_impl::alphabet[(w >> 12) & 0x3f];
    out += base64_impl::alphabet[(w >> 6) & 0x3f];
    out += base64_impl::alphabet[w & 0x3f];
  }
  const std::size_t rest = in.size() - i;
  if (rest != 0) {
    std::uint32_t w = std::uint32_t{static_cast<unsigned char>(in[i])} << 16;
    if (rest == 2) w |= std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
    out += base64_impl::alphabet[(w >> 18) & 0x3f];
    out += base64_impl::alphabet[(w >> 12) & 0x3f];
    out += rest == 2 ? base64_impl::alphabet[(w >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_BASE64_HPP
